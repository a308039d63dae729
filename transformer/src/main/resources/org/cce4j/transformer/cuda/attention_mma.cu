// attention_mma.cu: FlashAttention-2-style attention on tensor cores for bf16 and head size HD (a
// multiple of 16, at most 256; one module per HD). Tiles of 64 queries × 64 keys; 4 warps, each owning
// 16 rows of the tile; the T×T scores exist only as one 16×64 register tile per warp at a time.
//
//   forward (CTA = 64 queries of one head, or 128 with 8 warps: attn_fwd128_mma, up to HD 64):
//            S = Q·Kᵀ → mask, scale, softcap → online softmax (running max m and sum l per row)
//            → O += P·V;   O /= l,  lse = m + log l
//   the split backward (attention_bwd_fused.cu has the fused one):
//   dQ      (CTA = 64 queries of one head):  dP = dO·Vᵀ, S = Q·Kᵀ, dS = P∘(dP − δ)·scale·softcap'
//            → dQ += dS·K
//   dK, dV  (CTA = 64 keys of one kv head, over the group's query heads and the query tiles that can
//            see them):  Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ → dV += Pᵀ·dO,  dK += dSᵀ·Q
//            (MODE 1 / 2 computes only dV / only dK, to keep registers in check for large heads)
//
//   shared memory (attention_mma.cuh): tiles [64][HD + 8] bf16 (rows padded by 16 bytes, so the 8 rows one ldmatrix reads
//   fall in distinct banks), loaded by cp.async with zero fill past the sequence's end. The streamed
//   tiles (K, V in the forward and dQ; Q, dO in dK/dV) go through STAGES buffers (2 up to HD 128 by
//   default, CCE4J_ATTN_STAGES=3 or 4 on request; 1 above): tiles t+1 .. t+STAGES−1 load while t is computed.
//
//   Tiles start at multiples of 64 within the sequence. A warp's 16×64 tile that lies wholly inside
//   the visible region (below the diagonal, inside the window, keys of one document with no padding:
//   blockDoc[b, tile] ≥ 0, computed on the host) skips the per-element mask: most tiles of a long
//   sequence take that path.
#include "attention_bwd.cuh" // with attention_mma.cuh: the dK/dV kernel walks the fused kernels' key tiles


/**
 * The forward for a CTA of WARPS warps, 16 query rows each (64 or 128 queries): with 8 warps each K/V
 * tile brought into shared memory serves 128 queries. A warp skips a key tile that lies wholly after its
 * last row or before its first row's window.
 */
template <int WARPS>
__device__ __forceinline__ void fwd(const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, u16* __restrict__ O,
                                    float* __restrict__ LSE, int T, int H, int KVH, float scale, float cap, int window,
                                    const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
    constexpr int NT = WARPS * 32, QR = WARPS * 16;
    // shared: Q[QR / 64] | K[STAGES] | V[STAGES] | doc[STAGES][64] | ok[STAGES][64]
    u16* sQ = (u16*)smem;
    u16* sK = sQ + (QR / 64) * TILE;
    u16* sV = sK + STAGES * TILE;
    int* sDoc = (int*)(sV + STAGES * TILE);
    int* sOk = sDoc + STAGES * 64;
    __shared__ int sLo;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int h = blockIdx.y % H, b = blockIdx.y / H;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * QR; // the longest rows first
    const int kvh = h / (H / KVH), qW = H * HD, kvW = KVH * HD;
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const u16* gK = K + tok0 * kvW + kvh * HD;
    const u16* gV = V + tok0 * kvW + kvh * HD;
    const float invCap = cap > 0.f ? 1.f / cap : 0.f;

    #pragma unroll
    for (int r = 0; r < QR; r += 64) load_tile<NT>(sQ + (r / 64) * TILE, Q + tok0 * qW + h * HD, qW, q0 + r, T - q0 - r, tid); // committed with the first K/V tile
    const int kBegin = block_key_lo(m, tok0, q0, &sLo, tid, QR) / 64 * 64, kEnd = min(T, q0 + QR);
    const int wr0 = q0 + warp * 16; // the warp's first row

    int row[2], rowDoc[2];
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        row[hh] = q0 + warp * 16 + (lane >> 2) + hh * 8;
        rowDoc[hh] = (docs && row[hh] < T) ? docs[tok0 + row[hh]] : 0;
    }
    float o[NB][4];
    zero(o);
    float mRow[2] = {CCE_NEG_INF, CCE_NEG_INF}, lRow[2] = {0.f, 0.f};

    auto issue = [&](int t, int buf) {
        const int k0 = kBegin + t * 64;
        load_tile<NT>(sK + buf * TILE, gK, kvW, k0, T - k0, tid);
        load_tile<NT>(sV + buf * TILE, gV, kvW, k0, T - k0, tid);
        key_info(m, tok0, k0, sDoc + buf * 64, sOk + buf * 64, tid);
    };
    auto compute = [&](int t, int buf) {
        const int k0 = kBegin + t * 64;
        if (WARPS > 4 && (k0 > wr0 + 15 || (window > 0 && k0 + 63 < wr0 - window + 1))) return; // no key visible to the warp
        const int* kDoc = sDoc + buf * 64;
        const int* kOk = sOk + buf * 64;
        float s[8][4];
        mma_abt(s, sQ, warp * 16, sK + buf * TILE, lane); // the Q tiles are contiguous: row warp·16 of QR
        float tileMax[2] = {CCE_NEG_INF, CCE_NEG_INF};
        auto score = [&](const bool full) {
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                #pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int hh = e >> 1, kc = j * 8 + (lane & 3) * 2 + (e & 1), col = k0 + kc, r = row[hh];
                    float fac;
                    const float x = tile_score(s[j][e], scale, cap, invCap, &fac);
                    bool vis = true;
                    if (!full) { // a constant once the lambda is inlined into each call below
                        vis = kOk[kc] && attn_causal_window(r, col, T, window) && (!docs || kDoc[kc] == rowDoc[hh]);
                    }
                    s[j][e] = vis ? x : CCE_NEG_INF;
                    tileMax[hh] = fmax_(tileMax[hh], s[j][e]);
                }
            }
        };
        if (rows_see_tile(docs, blockDoc, T, window, b, wr0, k0, rowDoc)) score(true);
        else score(false);
        online_softmax(s, tileMax, mRow, lRow, o);
        mma_pb(o, s, sV + buf * TILE, lane);
    };
    pipeline((kEnd - kBegin + 63) / 64, issue, compute);

    finish_rows(O, LSE, tok0, H, h, row, mRow, lRow, o, T, lane);
}

extern "C" __global__ void __launch_bounds__(128) attn_fwd_mma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, u16* __restrict__ O,
        float* __restrict__ LSE, int T, int H, int KVH, float scale, float cap, int window,
        const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
    fwd<4>(Q, K, V, O, LSE, T, H, KVH, scale, cap, window, docs, kvLo, qHi, keyMask, blockDoc);
}

// up to HD 64, where two CTAs of 8 warps fit an SM in 128 registers: the 4-warp kernel's 16 warps per SM;
// and above HD 128 in a module built with STAGES=2 (CudaAttention), one CTA of 8 warps per SM with the
// next K/V tile in flight (at HD 256 6 tiles, 203,776 bytes), where the 4-warp kernel's two CTAs of 101 KB
// load each tile for 64 queries and wait for it; from 80 to 128 the 4-warp kernel keeps more warps per SM
#if HD <= 64 || (HD > 128 && STAGES == 2)
extern "C" __global__ void __launch_bounds__(256, HD <= 64 ? 2 : 1) attn_fwd128_mma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, u16* __restrict__ O,
        float* __restrict__ LSE, int T, int H, int KVH, float scale, float cap, int window,
        const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
    fwd<8>(Q, K, V, O, LSE, T, H, KVH, scale, cap, window, docs, kvLo, qHi, keyMask, blockDoc);
}
#endif

extern "C" __global__ void __launch_bounds__(128) attn_bwd_dq_mma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, const u16* __restrict__ dO,
        const float* __restrict__ LSE, const float* __restrict__ delta, u16* __restrict__ dQ, int T, int H, int KVH,
        float scale, float cap, int window, const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask,
        const int* blockDoc) {
    // shared: Q | dO | K[STAGES] | V[STAGES] | doc[STAGES][64] | ok[STAGES][64]
    u16* sQ = (u16*)smem;
    u16* sdO = sQ + TILE;
    u16* sK = sdO + TILE;
    u16* sV = sK + STAGES * TILE;
    int* sDoc = (int*)(sV + STAGES * TILE);
    int* sOk = sDoc + STAGES * 64;
    __shared__ int sLo;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int h = blockIdx.y % H, b = blockIdx.y / H;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * 64;
    const int kvh = h / (H / KVH), qW = H * HD, kvW = KVH * HD;
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const u16* gK = K + tok0 * kvW + kvh * HD;
    const u16* gV = V + tok0 * kvW + kvh * HD;
    const float invCap = cap > 0.f ? 1.f / cap : 0.f;

    load_tile(sQ, Q + tok0 * qW + h * HD, qW, q0, T - q0, tid);
    load_tile(sdO, dO + tok0 * qW + h * HD, qW, q0, T - q0, tid);
    const int kBegin = block_key_lo(m, tok0, q0, &sLo, tid) / 64 * 64, kEnd = min(T, q0 + 64);

    int row[2], rowDoc[2];
    float lse[2], dl[2];
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        row[hh] = q0 + warp * 16 + (lane >> 2) + hh * 8;
        const bool in = row[hh] < T;
        rowDoc[hh] = (docs && in) ? docs[tok0 + row[hh]] : 0;
        lse[hh] = in ? LSE[(tok0 + row[hh]) * H + h] : CCE_NEG_INF;
        dl[hh] = in ? delta[(tok0 + row[hh]) * H + h] : 0.f;
    }
    float dq[NB][4];
    zero(dq);

    auto issue = [&](int t, int buf) {
        const int k0 = kBegin + t * 64;
        load_tile(sK + buf * TILE, gK, kvW, k0, T - k0, tid);
        load_tile(sV + buf * TILE, gV, kvW, k0, T - k0, tid);
        key_info(m, tok0, k0, sDoc + buf * 64, sOk + buf * 64, tid);
    };
    auto compute = [&](int t, int buf) {
        const int k0 = kBegin + t * 64;
        const int* kDoc = sDoc + buf * 64;
        const int* kOk = sOk + buf * 64;
        float dp[8][4], s[8][4];
        mma_abt(dp, sdO, warp * 16, sV + buf * TILE, lane);
        mma_abt(s, sQ, warp * 16, sK + buf * TILE, lane);
        auto grad = [&](const bool full) {
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                #pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int hh = e >> 1, kc = j * 8 + (lane & 3) * 2 + (e & 1), col = k0 + kc, r = row[hh];
                    float fac;
                    const float x = tile_score(s[j][e], scale, cap, invCap, &fac);
                    bool vis = true;
                    if (!full) { // a constant once the lambda is inlined into each call below
                        vis = lse[hh] != CCE_NEG_INF && kOk[kc] && attn_causal_window(r, col, T, window)
                                && (!docs || kDoc[kc] == rowDoc[hh]);
                    }
                    const float p = vis ? ex2_approx((x - lse[hh]) * CCE_LOG2E) : 0.f;
                    dp[j][e] = p * (dp[j][e] - dl[hh]) * fac;
                }
            }
        };
        if (rows_see_tile(docs, blockDoc, T, window, b, q0 + warp * 16, k0, rowDoc)) grad(true);
        else grad(false);
        mma_pb(dq, dp, sK + buf * TILE, lane);
    };
    pipeline((kEnd - kBegin + 63) / 64, issue, compute);
    const float one[2] = {1.f, 1.f};
    store_rows(dQ + tok0 * qW + h * HD, qW, row, one, dq, T, lane);
}

template <int MODE>
__device__ __forceinline__ void dkdv(const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V,
                                     const u16* __restrict__ dO, const float* __restrict__ LSE, const float* __restrict__ delta,
                                     u16* __restrict__ dK, u16* __restrict__ dV, int T, int H, int KVH, float scale, float cap,
                                     int window, const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask,
                                     const int* blockDoc) {
    // shared: K | V | Q[STAGES] | dO[STAGES] | lse[STAGES][64] | delta[STAGES][64] | doc[STAGES][64]
    u16* sK = (u16*)smem;
    u16* sV = sK + TILE;
    u16* sQ = sV + TILE;
    u16* sdO = sQ + STAGES * TILE;
    float* sLse = (float*)(sdO + STAGES * TILE);
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
    float dk[MODE == 1 ? 1 : NB][4], dv[MODE == 2 ? 1 : NB][4];
    if constexpr (MODE != 1) zero(dk);
    if constexpr (MODE != 2) zero(dv);

    // tile t: query head kvh·groups + t / qTiles, queries k0 + (t % qTiles)·64 ...
    auto issue = [&](int t, int buf) {
        const int h = kvh * groups + t / qTiles, q0 = k0 + (t % qTiles) * 64;
        load_tile(sQ + buf * TILE, Q + tok0 * qW + h * HD, qW, q0, T - q0, tid);
        load_tile(sdO + buf * TILE, dO + tok0 * qW + h * HD, qW, q0, T - q0, tid);
        if (tid < 64) {
            const int q = q0 + tid;
            const bool in = q < T;
            sLse[buf * 64 + tid] = in ? LSE[(tok0 + q) * H + h] : CCE_NEG_INF;
            sDelta[buf * 64 + tid] = in ? delta[(tok0 + q) * H + h] : 0.f;
            sDoc[buf * 64 + tid] = (docs && in) ? docs[tok0 + q] : 0;
        }
    };
    auto compute = [&](int t, int buf) {
        const int q0 = k0 + (t % qTiles) * 64;
        const u16* tQ = sQ + buf * TILE;
        const u16* tdO = sdO + buf * TILE;
        const float* qLse = sLse + buf * 64;
        const float* qDelta = sDelta + buf * 64;
        const int* qDoc = sDoc + buf * 64;
        float st[8][4], dpt[8][4];
        mma_abt(st, sK, warp * 16, tQ, lane);
        if constexpr (MODE != 1) mma_abt(dpt, sV, warp * 16, tdO, lane);
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
                    if constexpr (MODE != 1) dpt[j][e] = p * (dpt[j][e] - qDelta[qc]) * fac;
                }
            }
        };
        // the warp's 16 keys [k0 + 16·warp, +16) against queries [q0, q0 + 64)
        if (keys_see_queries(blockDoc, T, window, b, k0, k0 + warp * 16, q0, q0, 64)) grad(true);
        else grad(false);
        if constexpr (MODE != 2) mma_pb(dv, st, tdO, lane);
        if constexpr (MODE != 1) mma_pb(dk, dpt, tQ, lane);
    };
    pipeline(groups * qTiles, issue, compute);
    const float one[2] = {1.f, 1.f};
    if constexpr (MODE != 1) store_rows(dK + tok0 * kvW + kvh * HD, kvW, kr.key, one, dk, T, lane);
    if constexpr (MODE != 2) store_rows(dV + tok0 * kvW + kvh * HD, kvW, kr.key, one, dv, T, lane);
}

#define DKDV_KERNEL(name, mode)                                                                                      \
    extern "C" __global__ void __launch_bounds__(128) name(                                                          \
            const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, const u16* __restrict__ dO, \
            const float* __restrict__ LSE, const float* __restrict__ delta, u16* __restrict__ dK, u16* __restrict__ dV,   \
            int T, int H, int KVH, float scale, float cap, int window, const int* docs, const int* kvLo, const int* qHi,   \
            const unsigned char* keyMask, const int* blockDoc) {                                                         \
        dkdv<mode>(Q, K, V, dO, LSE, delta, dK, dV, T, H, KVH, scale, cap, window, docs, kvLo, qHi, keyMask, blockDoc); \
    }
DKDV_KERNEL(attn_bwd_dkdv_mma, 0)
DKDV_KERNEL(attn_bwd_dv_mma, 1)
DKDV_KERNEL(attn_bwd_dk_mma, 2)
