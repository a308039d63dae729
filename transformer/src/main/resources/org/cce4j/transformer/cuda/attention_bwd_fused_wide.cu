// attention_bwd_fused_wide.cu: the fused attention backward (attention_bwd_fused.cu's 5 tile products per
// (key tile, query tile) pair instead of the split backward's 8 at these sizes) for head sizes above 128
// (a multiple of 32, at most 256: Gemma's 256). There one warp's dK and dV accumulators for 16 keys × HD
// would take 256 registers per thread, so a CTA of 8 warps shares them out: warp w owns keys
// 16·(w % 4) .. +16 and columns half = w / 4 of width HD / 2, and P and dS go through shared memory
// (as FlashAttention-2 does for large heads) instead of staying in registers:
//
//   CTA = 64 keys of one kv head, over the group's query heads and the query tiles that can see them;
//   per query tile (64 queries), three phases separated by barriers:
//     1. warp (kw, half): Sᵀ, dPᵀ for its 16 keys × queries 32·half .. +32 (full HD reductions)
//        → Pᵀ, dSᵀ = Pᵀ∘(dPᵀ − δ)·scale·softcap' → shared memory, bf16, key-major [key][query]
//     2. warp (kw, half): dV[16 keys, its columns] += Pᵀ·dO,  dK[16 keys, its columns] += dSᵀ·Q
//        (registers: 2 × 16 × HD/2 f32 per warp, 128 per thread at HD 256)
//     3. warp (qw, half): dQ[queries 16·qw .. +16, its columns] = dS·K → red.global.add into the f32
//        accumulator the host zeroes first and converts to bf16 after (as the narrow kernel)
//
//   shared memory: K | V | Q[2] | dO[2] | Pᵀ, dSᵀ [64][72] | lse, delta, doc [2][64]: at HD 256,
//   6 · 64·264·2 + 2 · 64·72·2 + 1,536 = 222,720 bytes, one CTA per SM, the next query tile in flight.
#define STAGES 2
#include "attention_bwd.cuh"

#if HD <= 128 || HD % 32 != 0
#error "the wide fused attention backward is for HD > 128, a multiple of 32"
#endif

#define HALF (HD / 2)
#define NBH (HALF / 8) // 8-column blocks of a warp's half (even: HD is a multiple of 32)
// dQ columns per pass, in 8-column blocks (an even divisor of NBH): 32 accumulators live at HD 256
#define DQ_PASS (NBH % 8 == 0 ? 8 : NBH % 4 == 0 ? 4 : NBH)

/**
 * out (16 × HALF) += At[aRow0 .. +16, 0 .. 64] · B[0 .. 64, c0 .. c0 + HALF]: At a key-major bf16 tile
 * (Pᵀ or dSᵀ, DS_LD), B a row-major tile (dO or Q) read transposed by ldmatrix.trans.
 */
__device__ __forceinline__ void mma_tb_half(float (&out)[NBH][4], const u16* At, int aRow0, const u16* B, int c0, int lane) {
    #pragma unroll
    for (int kb = 0; kb < 4; kb++) {
        u32 a0, a1, a2, a3;
        ldsm_x4(smem_addr(At + (aRow0 + (lane & 15)) * DS_LD + kb * 16 + (lane >> 4) * 8), a0, a1, a2, a3);
        #pragma unroll
        for (int nb = 0; nb < NBH; nb += 2) {
            u32 b0, b1, b2, b3;
            ldsm_x4_t(smem_addr(B + (kb * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + c0 + nb * 8 + (lane >> 4) * 8), b0, b1, b2, b3);
            mma_bf16(out[nb], a0, a1, a2, a3, b0, b1);
            mma_bf16(out[nb + 1], a0, a1, a2, a3, b2, b3);
        }
    }
}

/** Writes a warp's 16 key rows × HALF columns from c0 (times nothing) as bf16 into a token-major matrix. */
__device__ __forceinline__ void store_half(u16* g, int stride, const int (&row)[2], int c0, const float (&acc)[NBH][4], int T, int lane) {
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        if (row[hh] >= T) continue;
        u16* out = g + (long long)row[hh] * stride + c0;
        #pragma unroll
        for (int nb = 0; nb < NBH; nb++) *(u32*)(out + nb * 8 + (lane & 3) * 2) = pack_bf16(acc[nb][hh * 2], acc[nb][hh * 2 + 1]);
    }
}

extern "C" __global__ void __launch_bounds__(256, 1) attn_bwd_fused_wide_mma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, const u16* __restrict__ dO,
        const float* __restrict__ LSE, const float* __restrict__ delta, float* __restrict__ dQacc, u16* __restrict__ dK,
        u16* __restrict__ dV, int T, int H, int KVH, float scale, float cap, int window, const int* docs, const int* kvLo,
        const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
    u16* sK = (u16*)smem;
    u16* sV = sK + TILE;
    u16* sQ = sV + TILE;
    u16* sdO = sQ + 2 * TILE;
    u16* sPt = sdO + 2 * TILE;
    u16* sdSt = sPt + 64 * DS_LD;
    float* sLse = (float*)(sdSt + 64 * DS_LD);
    float* sDelta = sLse + 2 * 64;
    int* sDoc = (int*)(sDelta + 2 * 64);
    __shared__ int sHi;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int kw = warp & 3, half = warp >> 2, c0 = half * HALF, qs0 = half * 32;
    const int kvh = blockIdx.y % KVH, b = blockIdx.y / KVH, k0 = blockIdx.x * 64;
    const int groups = H / KVH, qW = H * HD, kvW = KVH * HD;
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const float invCap = cap > 0.f ? 1.f / cap : 0.f;

    load_tile<256>(sK, K + tok0 * kvW + kvh * HD, kvW, k0, T - k0, tid); // committed with the first Q/dO tile
    load_tile<256>(sV, V + tok0 * kvW + kvh * HD, kvW, k0, T - k0, tid);
    const int qTiles = bwd_query_tiles(m, tok0, k0, &sHi, tid);
    const KeyRows kr = key_rows(m, tok0, k0 + kw * 16, lane);
    float dk[NBH][4], dv[NBH][4];
    #pragma unroll
    for (int nb = 0; nb < NBH; nb++)
        #pragma unroll
        for (int e = 0; e < 4; e++) dk[nb][e] = dv[nb][e] = 0.f;

    // tile t: query head kvh·groups + t / qTiles, queries k0 + (t % qTiles)·64
    auto issue = [&](int t, int buf) {
        bwd_issue_queries<256>(sQ + buf * TILE, sdO + buf * TILE, sLse + buf * 64, sDelta + buf * 64, sDoc + buf * 64, Q, dO, LSE, delta,
                               docs, tok0, T, H, kvh * groups + t / qTiles, k0 + (t % qTiles) * 64, tid);
    };
    auto compute = [&](int t, int buf) {
        const int h = kvh * groups + t / qTiles, q0 = k0 + (t % qTiles) * 64;
        const u16* tQ = sQ + buf * TILE;
        const u16* tdO = sdO + buf * TILE;
        const float* qLse = sLse + buf * 64;
        const float* qDelta = sDelta + buf * 64;
        const int* qDoc = sDoc + buf * 64;
        // 1. this warp's 16 keys × 32 queries of Pᵀ and dSᵀ
        float st[4][4], dpt[4][4];
        mma_abt<4>(st, sK, kw * 16, tQ, lane, qs0);
        mma_abt<4>(dpt, sV, kw * 16, tdO, lane, qs0);
        auto grad = [&](const bool full) {
            #pragma unroll
            for (int j = 0; j < 4; j++) {
                #pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int hh = e >> 1, qc = qs0 + j * 8 + (lane & 3) * 2 + (e & 1), q = q0 + qc, kj = kr.key[hh];
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
        if (keys_see_queries(blockDoc, T, window, b, k0, k0 + kw * 16, q0, q0 + qs0, 32)) grad(true);
        else grad(false);
        #pragma unroll
        for (int j = 0; j < 4; j++) {
            #pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                const int at = (kw * 16 + (lane >> 2) + hh * 8) * DS_LD + qs0 + j * 8 + (lane & 3) * 2;
                *(u32*)(sPt + at) = pack_bf16(st[j][hh * 2], st[j][hh * 2 + 1]);
                *(u32*)(sdSt + at) = pack_bf16(dpt[j][hh * 2], dpt[j][hh * 2 + 1]);
            }
        }
        __syncthreads(); // Pᵀ and dSᵀ complete (the pipeline's barrier before the next tile keeps them until every warp is done)
        // 2. dV and dK for this warp's keys and columns
        mma_tb_half(dv, sPt, kw * 16, tdO, c0, lane);
        mma_tb_half(dk, sdSt, kw * 16, tQ, c0, lane);
        // 3. dQ for queries 16·kw .. +16 (the same index, now over queries) and this warp's columns
        add_dq<DQ_PASS, NBH / DQ_PASS>(dQacc + tok0 * qW + h * HD, qW, sdSt, sK, q0, kw * 16, c0, T, lane);
    };
    pipeline(groups * qTiles, issue, compute);
    store_half(dK + tok0 * kvW + kvh * HD, kvW, kr.key, c0, dk, T, lane);
    store_half(dV + tok0 * kvW + kvh * HD, kvW, kr.key, c0, dv, T, lane);
}
