// attention_fwd_pair.cu: the tensor-core attention forward with 32 query rows per warp, for bf16 and head
// sizes up to 64 (one module per HD, a multiple of 16). Same contract, tiles, pipeline and fast path as
// fwd<> in attention_mma.cu; what differs is the warp's share of the CTA.
//
//   Why: with 16 rows per warp every K or V fragment a warp reads from shared memory by ldmatrix feeds
//   one m16n8k16 mma, and that forward is bound by shared-memory bandwidth. Here each warp owns two
//   16-row blocks (FlashAttention-2's layout): each fragment of K (S = Q·Kᵀ) and of V (O += P·V) is
//   loaded once and used twice (mma_abt2, mma_pb2).
//
//   CTA = 4 warps × 32 rows = 128 queries of one head; K and V stream in 64-key tiles, double-buffered;
//   Q stays in shared memory. A warp consumes a tile in online-softmax steps of PAIR_KEYS keys:
//     32 (the default): the step's scores are 32 floats beside the 64 of the outputs (HD 64), which fits
//        168 registers, three CTAs (12 warps) per SM; Q's fragments are read once per step, so a warp reads
//        2/3 of the 16-row kernel's ldmatrix bytes per flop. A step wholly after the warp's last row (half
//        of each diagonal tile for even warps) is skipped.
//     64: 64 score floats, ~240 registers, two CTAs (8 warps) per SM; Q read once per tile: 5/9 of the bytes.
//   ldmatrix x4 per warp, 32 rows × 64 keys at HD 64: Q 8·64/PAIR_KEYS, K 16, V 16 (16-row kernel: 72).
//   shared: Q [128][HD + 8] | K[STAGES] | V[STAGES] [64][HD + 8] | doc, ok [STAGES][64]  (55 KB at HD 64, 2 stages)
#include "attention_mma.cuh"

#if HD > 64
#error "the paired forward is built for heads up to 64 (CudaAttention.PAIR_FORWARD_MAX_HEAD): its accumulators would not fit"
#endif
#if STAGES < 2
#error "the paired forward streams K and V through at least two buffers (CudaAttention sizes its shared memory so)"
#endif

#ifndef PAIR_KEYS
#define PAIR_KEYS 32
#endif
#if PAIR_KEYS != 32 && PAIR_KEYS != 64
#error "PAIR_KEYS (keys per online-softmax step) must be 32 or 64"
#endif
#define PAIR_CTAS (PAIR_KEYS == 32 ? 3 : 2) // CTAs per SM that the registers must allow
#define PAIR_WARPS 4
#define PAIR_ROWS (PAIR_WARPS * 32)

extern "C" __global__ void __launch_bounds__(PAIR_WARPS * 32, PAIR_CTAS) attn_fwd_pair_mma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, u16* __restrict__ O,
        float* __restrict__ LSE, int T, int H, int KVH, float scale, float cap, int window,
        const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
    constexpr int NT = PAIR_WARPS * 32;
    u16* sQ = (u16*)smem;
    u16* sK = sQ + (PAIR_ROWS / 64) * TILE;
    u16* sV = sK + STAGES * TILE;
    int* sDoc = (int*)(sV + STAGES * TILE);
    int* sOk = sDoc + STAGES * 64;
    __shared__ int sLo;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int h = blockIdx.y % H, b = blockIdx.y / H;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * PAIR_ROWS; // the longest rows first
    const int kvh = h / (H / KVH), qW = H * HD, kvW = KVH * HD;
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const u16* gK = K + tok0 * kvW + kvh * HD;
    const u16* gV = V + tok0 * kvW + kvh * HD;
    const float invCap = cap > 0.f ? 1.f / cap : 0.f;

    #pragma unroll
    for (int r = 0; r < PAIR_ROWS; r += 64) { // committed with the first K/V tile; the Q tiles are contiguous rows
        load_tile<NT>(sQ + (r / 64) * TILE, Q + tok0 * qW + h * HD, qW, q0 + r, T - q0 - r, tid);
    }
    const int kBegin = block_key_lo(m, tok0, q0, &sLo, tid, PAIR_ROWS) / 64 * 64, kEnd = min(T, q0 + PAIR_ROWS);
    const int wr0 = q0 + warp * 32; // the warp's first row; its blocks are rows wr0 + 16·i .. +16, i = 0, 1

    // lane's rows: row[i][hh] = wr0 + 16·i + lane/4 + 8·hh (the accumulator layout of block i)
    int row[2][2], rowDoc[2][2];
    #pragma unroll
    for (int i = 0; i < 2; i++) {
        #pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            row[i][hh] = wr0 + i * 16 + (lane >> 2) + hh * 8;
            rowDoc[i][hh] = (docs && row[i][hh] < T) ? docs[tok0 + row[i][hh]] : 0;
        }
    }
    float o[2][NB][4];
    zero(o[0]);
    zero(o[1]);
    float mRow[2][2], lRow[2][2];
    #pragma unroll
    for (int i = 0; i < 2; i++) {
        #pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            mRow[i][hh] = CCE_NEG_INF;
            lRow[i][hh] = 0.f;
        }
    }

    auto issue = [&](int t, int buf) {
        const int k0 = kBegin + t * 64;
        load_tile<NT>(sK + buf * TILE, gK, kvW, k0, T - k0, tid);
        load_tile<NT>(sV + buf * TILE, gV, kvW, k0, T - k0, tid);
        key_info(m, tok0, k0, sDoc + buf * 64, sOk + buf * 64, tid);
    };
    const u32 aQ = smem_addr(sQ), aK = smem_addr(sK), aV = smem_addr(sV);
    auto compute = [&](int t, int buf) {
        const int k0 = kBegin + t * 64;
        const int* kDoc = sDoc + buf * 64;
        const int* kOk = sOk + buf * 64;
        #pragma unroll
        for (int c = 0; c < 64; c += PAIR_KEYS) { // the tile's keys k0 + c .. + PAIR_KEYS, one online-softmax step
            const int kc0 = k0 + c;
            // no key visible to the warp: its rows are past the sequence, the keys past it or after its last
            // row, or all before its first row's window
            if (wr0 >= T || kc0 >= T || kc0 > wr0 + 31 || (window > 0 && kc0 + PAIR_KEYS - 1 < wr0 - window + 1)) continue;
            float s[2][PAIR_KEYS / 8][4];
            mma_abt2(s, aQ, warp * 32, aK + (buf * TILE + c * LDS) * 2, lane);
            float tileMax[2][2];
            // block i's scores, masked unless `full` (a constant once inlined into each call below)
            auto score = [&](float (&sb)[PAIR_KEYS / 8][4], float (&tm)[2], const int (&r)[2], const int (&rd)[2], const bool full) {
                tm[0] = tm[1] = CCE_NEG_INF;
                #pragma unroll
                for (int j = 0; j < PAIR_KEYS / 8; j++) {
                    #pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int hh = e >> 1, kc = c + j * 8 + (lane & 3) * 2 + (e & 1), col = k0 + kc;
                        float fac;
                        const float x = tile_score(sb[j][e], scale, cap, invCap, &fac);
                        bool vis = true;
                        if (!full) vis = kOk[kc] && attn_causal_window(r[hh], col, T, window) && (!docs || kDoc[kc] == rd[hh]);
                        sb[j][e] = vis ? x : CCE_NEG_INF;
                        tm[hh] = fmax_(tm[hh], sb[j][e]);
                    }
                }
            };
            #pragma unroll
            for (int i = 0; i < 2; i++) { // the fast path per 16-row block, as fwd<> decides it per warp
                if (rows_see_keys(docs, blockDoc, T, window, b, wr0 + i * 16, kc0, PAIR_KEYS, rowDoc[i])) {
                    score(s[i], tileMax[i], row[i], rowDoc[i], true);
                } else {
                    score(s[i], tileMax[i], row[i], rowDoc[i], false);
                }
            }
            u32 p[2][PAIR_KEYS / 16][4]; // P rounded to bf16: the A fragments of P·V
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                float corr[2], mLog2[2], rowSum[2] = {0.f, 0.f};
                #pragma unroll
                for (int hh = 0; hh < 2; hh++) {
                    float tm = tileMax[i][hh];
                    tm = fmax_(tm, __shfl_xor_sync(0xffffffffu, tm, 1));
                    tm = fmax_(tm, __shfl_xor_sync(0xffffffffu, tm, 2));
                    const float mNew = fmax_(mRow[i][hh], tm);
                    corr[hh] = mNew == CCE_NEG_INF ? 1.f : ex2_approx((mRow[i][hh] - mNew) * CCE_LOG2E);
                    mLog2[hh] = mNew == CCE_NEG_INF ? 0.f : mNew * CCE_LOG2E;
                    mRow[i][hh] = mNew;
                }
                #pragma unroll
                for (int j = 0; j < PAIR_KEYS / 8; j++) {
                    #pragma unroll
                    for (int e = 0; e < 4; e++) { // exp(s − m) as one fma and one ex2 (−inf stays −inf: p = 0)
                        const float pe = ex2_approx(fmaf(s[i][j][e], CCE_LOG2E, -mLog2[e >> 1]));
                        s[i][j][e] = pe;
                        rowSum[e >> 1] += pe;
                    }
                }
                #pragma unroll
                for (int hh = 0; hh < 2; hh++) lRow[i][hh] = lRow[i][hh] * corr[hh] + rowSum[hh];
                #pragma unroll
                for (int nb = 0; nb < NB; nb++) {
                    #pragma unroll
                    for (int e = 0; e < 4; e++) o[i][nb][e] *= corr[e >> 1];
                }
                pack_a(p[i], s[i]);
            }
            mma_pb2(o, p, aV + (buf * TILE + c * LDS) * 2, lane);
        }
    };
    pipeline((kEnd - kBegin + 63) / 64, issue, compute);

    #pragma unroll
    for (int i = 0; i < 2; i++) {
        float inv[2];
        #pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float l = lRow[i][hh];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            inv[hh] = l > 0.f ? 1.f / l : 0.f;
            if ((lane & 3) == 0 && row[i][hh] < T) {
                LSE[(tok0 + row[i][hh]) * H + h] = l > 0.f ? mRow[i][hh] + logf(l) : CCE_NEG_INF;
            }
        }
        store_rows(O + tok0 * qW + h * HD, qW, row[i], inv, o[i], T, lane);
    }
}
