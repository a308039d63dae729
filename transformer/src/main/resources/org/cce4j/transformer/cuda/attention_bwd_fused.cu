// attention_bwd_fused.cu: the attention backward in one pass over the (query tile, key tile) pairs, the
// FlashAttention-2 way, for bf16 and head size HD ≤ 128 (larger heads take attention_bwd_fused_wide.cu,
// which shares the accumulators' columns between two warps). The split backward recomputes S and dP
// in both of its kernels (7 tile products per pair); here each pair costs 5:
//
//   CTA = 64 keys of one kv head, over the group's query heads and the query tiles that can see them
//   (as attention_mma.cu's dK/dV kernel); 4 warps, each owning 16 keys:
//     Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ  → Pᵀ (from the forward's lse), dSᵀ = Pᵀ∘(dPᵀ − δ)·scale·softcap'
//     dV += Pᵀ·dO,  dK += dSᵀ·Q                          (registers, 16 keys × HD per warp)
//     dSᵀ → shared memory (bf16, [key][query]);  dQ[16 queries of warp w] = dS·K  → red.global.add
//     into an f32 accumulator [tokens, H·HD] that the host zeroes first and converts to bf16 after.
//
//   shared memory: K | V | Q[STAGES] | dO[STAGES] | dSᵀ [64][72] | lse, delta, doc [STAGES][64], the
//   streamed ones (Q, dO and the per-query words) by cp.async, tile t+1 in flight while t is computed.
//   MIN_CTAS (from the host) caps the registers so that that many CTAs fit an SM.
//
// The dQ product reads dSᵀ transposed by ldmatrix.trans (its 8×8 blocks are stored key-major), so dS is
// rounded to bf16 once and the same values enter dK and dQ. dQ's f32 sums arrive in any order: dQ is
// not bit-reproducible from run to run (its rounding to bf16 hides most of that).
#include "attention_bwd.cuh"

#if HD > 128
#error "the fused attention backward is for HD <= 128 (attention_bwd_fused_wide.cu above)"
#endif

#ifndef MIN_CTAS
#define MIN_CTAS 1 // CTAs per SM the register allocation must allow (3 fits HD 64 in 168 registers)
#endif
// dQ columns per pass, in 8-column blocks (an even divisor of NB): at most 64 accumulators live when HD is 128
#define DQ_NC ((NB <= 8 || NB % 4 != 0) ? NB : NB / 2)

extern "C" __global__ void __launch_bounds__(128, MIN_CTAS) attn_bwd_fused_mma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, const u16* __restrict__ dO,
        const float* __restrict__ LSE, const float* __restrict__ delta, float* __restrict__ dQacc, u16* __restrict__ dK,
        u16* __restrict__ dV, int T, int H, int KVH, float scale, float cap, int window, const int* docs, const int* kvLo,
        const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
    u16* sK = (u16*)smem;
    u16* sV = sK + TILE;
    u16* sQ = sV + TILE;
    u16* sdO = sQ + STAGES * TILE;
    u16* sdS = sdO + STAGES * TILE;
    float* sLse = (float*)(sdS + 64 * DS_LD);
    float* sDelta = sLse + STAGES * 64;
    int* sDoc = (int*)(sDelta + STAGES * 64);
    __shared__ int sHi;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int kvh = blockIdx.y % KVH, b = blockIdx.y / KVH, k0 = blockIdx.x * 64;
    const int groups = H / KVH, qW = H * HD, kvW = KVH * HD;
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const float invCap = cap > 0.f ? 1.f / cap : 0.f;

    load_tile(sK, K + tok0 * kvW + kvh * HD, kvW, k0, T - k0, tid); // committed with the first Q/dO tile
    load_tile(sV, V + tok0 * kvW + kvh * HD, kvW, k0, T - k0, tid);
    const int qTiles = bwd_query_tiles(m, tok0, k0, &sHi, tid);
    const KeyRows kr = key_rows(m, tok0, k0 + warp * 16, lane);
    float dk[NB][4], dv[NB][4];
    zero(dk);
    zero(dv);

    // tile t: query head kvh·groups + t / qTiles, queries k0 + (t % qTiles)·64
    auto issue = [&](int t, int buf) {
        bwd_issue_queries<128>(sQ + buf * TILE, sdO + buf * TILE, sLse + buf * 64, sDelta + buf * 64, sDoc + buf * 64, Q, dO, LSE, delta,
                               docs, tok0, T, H, kvh * groups + t / qTiles, k0 + (t % qTiles) * 64, tid);
    };
    auto compute = [&](int t, int buf) {
        const int h = kvh * groups + t / qTiles, q0 = k0 + (t % qTiles) * 64;
        const u16* tQ = sQ + buf * TILE;
        const u16* tdO = sdO + buf * TILE;
        const float* qLse = sLse + buf * 64;
        const float* qDelta = sDelta + buf * 64;
        const int* qDoc = sDoc + buf * 64;
        float st[8][4], dpt[8][4];
        mma_abt(st, sK, warp * 16, tQ, lane);
        mma_abt(dpt, sV, warp * 16, tdO, lane);
        auto grad = [&](const bool full) {
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                #pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int hh = e >> 1, qc = j * 8 + (lane & 3) * 2 + (e & 1), q = q0 + qc, kj = kr.key[hh];
                    float fac;
                    const float x = tile_score(st[j][e], scale, cap, invCap, &fac);
                    const float l = qLse[qc];
                    bool vis = true;
                    if (!full) { // a constant once the lambda is inlined into each call below
                        vis = kr.ok[hh] && l != CCE_NEG_INF && attn_causal_window(q, kj, T, window)
                                && (!docs || qDoc[qc] == kr.doc[hh]);
                    }
                    const float p = vis ? ex2_approx((x - l) * CCE_LOG2E) : 0.f;
                    st[j][e] = p;
                    dpt[j][e] = p * (dpt[j][e] - qDelta[qc]) * fac;
                }
            }
        };
        // the warp's 16 keys [k0 + 16·warp, +16) against queries [q0, q0 + 64)
        if (keys_see_queries(blockDoc, T, window, b, k0, k0 + warp * 16, q0, q0, 64)) grad(true);
        else grad(false);
        // dSᵀ rows of this warp's keys into shared memory, as the bf16 pairs mma_pb packs for dK
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            #pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                *(u32*)(sdS + (warp * 16 + (lane >> 2) + hh * 8) * DS_LD + j * 8 + (lane & 3) * 2) =
                        pack_bf16(dpt[j][hh * 2], dpt[j][hh * 2 + 1]);
            }
        }
        mma_pb(dv, st, tdO, lane);
        mma_pb(dk, dpt, tQ, lane);
        __syncthreads(); // dSᵀ complete (the pipeline's barrier before the next tile keeps it until every warp is done)
        add_dq<DQ_NC, NB / DQ_NC>(dQacc + tok0 * qW + h * HD, qW, sdS, sK, q0, warp * 16, 0, T, lane);
    };
    pipeline(groups * qTiles, issue, compute);
    const float one[2] = {1.f, 1.f};
    store_rows(dK + tok0 * kvW + kvh * HD, kvW, kr.key, one, dk, T, lane);
    store_rows(dV + tok0 * kvW + kvh * HD, kvW, kr.key, one, dv, T, lane);
}
