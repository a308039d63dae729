// cce_simt.cu: the portable CCE kernels (any architecture, any element type, any D), on plain f32
// FMA. They are the exact path for f32 inputs (no TF32 rounding: matches float64 to ~1e-6) and the
// fallback where the tensor-core kernels do not apply. Both walk the skip tiles of cce_common.cuh:
//
//   forward, CTA = 64 rows × one split of the vocabulary, 256 threads, 4×4 logits each:
//     for each 64-wide vocab step: z = E·Cᵀ (+b, softcap) in registers, online max/Σexp per row,
//     the target's logit, Σz (smoothing), and every 256 entries the tile's largest logit;
//     built with CCE_ACCURACY=1 also the first index of each row's maximum (partArg), searched only in
//     the 64-entry steps that raise the row's running maximum (without it the code is unchanged)
//   backward, CTA = one 64×256 tile (all tiles, or the active list the plan kernel made):
//     z recomputed → g = (p·(1+2λ·lse) − α/V)·s·softcap' in shared memory (64×257 f32),
//     dE[64×D] += g·C and dC[256×D] += gᵀ·E in 32-column chunks, added with atomics
#include "cce_common.cuh"

#define SM_BK 16

extern "C" __global__ void __launch_bounds__(256) cce_forward_simt(
        const elem_t* __restrict__ E, const elem_t* __restrict__ C, const float* __restrict__ bias,
        const int* __restrict__ target, int N, int V, int D, float softcap, int smoothing, int vtPerSplit,
        float* __restrict__ partMax, float* __restrict__ partSum, float* __restrict__ partLsum,
        float* __restrict__ targetZ, float* __restrict__ tileMax, int* __restrict__ partArg) {
    __shared__ float Es[SM_BK][64 + 4];
    __shared__ float Cs[SM_BK][64 + 4];
    __shared__ float red[8];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int r0 = blockIdx.x * 64;
    const int split = blockIdx.y;
    const int VT = (V + CCE_TILE_VOCAB - 1) / CCE_TILE_VOCAB;
    const int vt0 = split * vtPerSplit;
    const int vt1 = min(VT, vt0 + vtPerSplit);
    const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;

    float m[4], s[4], ls[4];
#if CCE_ACCURACY
    // each row's running argmax, kept by lane tx == 0 of its half-warp, and the rows' targets: in
    // shared memory, since more registers would spill on sm_90
    __shared__ int argS[64], tgtS[64];
#define TGT(i) tgtS[ty * 4 + (i)]
#else
    int tgt[4];
#define TGT(i) tgt[i]
#endif
    for (int i = 0; i < 4; i++) {
        m[i] = CCE_NEG_INF; s[i] = 0.f; ls[i] = 0.f;
        int row = r0 + ty * 4 + i;
#if CCE_ACCURACY
        if (tx == 0) { // read by the other lanes after the first __syncthreads of the k-loop
            argS[ty * 4 + i] = 0x7fffffff;
            tgtS[ty * 4 + i] = row < N ? target[row] : -1;
        }
#else
        tgt[i] = row < N ? target[row] : -1;
#endif
    }
    const int lr = tid >> 2, lk = (tid & 3) * 4; // loader: row (or vocab entry) and 4 consecutive k

    for (int vt = vt0; vt < vt1; vt++) {
        float tmax = CCE_NEG_INF;
        for (int sub = 0; sub < CCE_TILE_VOCAB / 64; sub++) {
            const int v0 = vt * CCE_TILE_VOCAB + sub * 64;
            if (v0 >= V) break;
            float acc[4][4];
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
            for (int k0 = 0; k0 < D; k0 += SM_BK) {
                const int er = r0 + lr, cv = v0 + lr;
                #pragma unroll
                for (int q = 0; q < 4; q++) {
                    int k = k0 + lk + q;
                    Es[lk + q][lr] = (er < N && k < D) ? elem_to_f32(E[(size_t)er * D + k]) : 0.f;
                    Cs[lk + q][lr] = (cv < V && k < D) ? elem_to_f32(C[(size_t)cv * D + k]) : 0.f;
                }
                __syncthreads();
                #pragma unroll
                for (int kk = 0; kk < SM_BK; kk++) {
                    float a[4], b[4];
                    for (int i = 0; i < 4; i++) a[i] = Es[kk][ty * 4 + i];
                    for (int j = 0; j < 4; j++) b[j] = Cs[kk][tx * 4 + j];
                    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
                }
                __syncthreads();
            }
            #pragma unroll
            for (int i = 0; i < 4; i++) {
                const int row = r0 + ty * 4 + i;
                float z[4], rmax = CCE_NEG_INF;
                for (int j = 0; j < 4; j++) {
                    const int col = v0 + tx * 4 + j;
                    float x = acc[i][j];
                    if (col < V) {
                        if (bias) x += bias[col];
                        if (softcap > 0.f) x = softcap * tanhf(x * invCap);
                        if (smoothing) ls[i] += x;
                        if (col == TGT(i)) targetZ[row] = x;
                    } else {
                        x = CCE_NEG_INF;
                    }
                    z[j] = x;
                    rmax = fmax_(rmax, x);
                }
                rmax = warp_max(rmax, 16);
                if (row < N) tmax = fmax_(tmax, rmax);
#if CCE_ACCURACY
                // the 16 lanes of a row (one half-warp) agree on rmax and m[i]: a strictly larger
                // maximum moves the argmax to its first column here (an equal one keeps the earlier)
                const bool raises = rmax > m[i];
                const unsigned lanes = __ballot_sync(0xffffffffu, raises);
                if (raises) {
                    int first = 0x7fffffff;
                    #pragma unroll
                    for (int j = 3; j >= 0; j--) if (z[j] == rmax) first = v0 + tx * 4 + j;
                    for (int o = 8; o > 0; o >>= 1) first = min(first, __shfl_xor_sync(lanes, first, o));
                    if (tx == 0) argS[ty * 4 + i] = first;
                }
#endif
                const float mNew = fmax_(m[i], rmax);
                float add = 0.f;
                for (int j = 0; j < 4; j++) add += __expf(z[j] - mNew);
                s[i] = s[i] * __expf(m[i] - mNew) + add;
                m[i] = mNew;
            }
        }
        // the tile's largest logit, for the backward's skip test
        tmax = warp_max(tmax, 32);
        if ((tid & 31) == 0) red[tid >> 5] = tmax;
        __syncthreads();
        if (tid == 0) {
            float t = red[0];
            for (int w = 1; w < 8; w++) t = fmax_(t, red[w]);
            tileMax[(size_t)blockIdx.x * VT + vt] = t;
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        const int row = r0 + ty * 4 + i;
        float si = warp_sum(s[i], 16);
        float li = warp_sum(ls[i], 16);
        if (tx == 0 && row < N) {
            partMax[(size_t)split * N + row] = m[i];
            partSum[(size_t)split * N + row] = si;
            if (smoothing) partLsum[(size_t)split * N + row] = li;
#if CCE_ACCURACY
            partArg[(size_t)split * N + row] = argS[ty * 4 + i];
#endif
        }
    }
}

#undef TGT

// ---- backward -------------------------------------------------------------------------------

#define BW_GS (CCE_TILE_VOCAB + 1)

extern "C" __global__ void __launch_bounds__(256) cce_backward_simt(
        const elem_t* __restrict__ E, const elem_t* __restrict__ C, const float* __restrict__ bias,
        const float* __restrict__ lse, const float* __restrict__ scale, int N, int V, int D, float softcap,
        float zLoss, float alphaOverV, const int* __restrict__ tiles, int VT,
        float* __restrict__ dE, float* __restrict__ dC, float* __restrict__ dBias) {
    extern __shared__ float sm[];
    float* Gs = sm;                       // [64][257]
    float* work = sm + 64 * BW_GS;        // staging: Es[16][64] + Cs[16][256] | Cc[256][32] | Ec[64][32]
    const int tid = threadIdx.x;
    const int tile = tiles ? tiles[blockIdx.x] : blockIdx.x;
    const int g = tile / VT, vt = tile % VT;
    const int r0 = g * 64, v0 = vt * CCE_TILE_VOCAB;
    const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;

    // 1. z = E·Cᵀ for 64 rows × 256 entries: thread (ty = warp) has rows ty*8+i, columns tx+32j
    {
        float* Es = work;            // [16][64]
        float* Cs = work + 16 * 64;  // [16][256]
        const int tx = tid & 31, ty = tid >> 5;
        float acc[8][8];
        #pragma unroll
        for (int i = 0; i < 8; i++)
            #pragma unroll
            for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
        for (int k0 = 0; k0 < D; k0 += 16) {
            {   // E: 64 rows × 16 k, 4 per thread
                const int r = tid >> 2, kq = (tid & 3) * 4;
                for (int q = 0; q < 4; q++) {
                    const int k = k0 + kq + q, row = r0 + r;
                    Es[(kq + q) * 64 + r] = (row < N && k < D) ? elem_to_f32(E[(size_t)row * D + k]) : 0.f;
                }
            }
            for (int q = 0; q < 16; q++) {   // C: 256 entries × 16 k, 16 per thread
                const int idx = q * 256 + tid, v = idx >> 4, k = k0 + (idx & 15), col = v0 + v;
                Cs[(idx & 15) * 256 + v] = (col < V && k < D) ? elem_to_f32(C[(size_t)col * D + k]) : 0.f;
            }
            __syncthreads();
            #pragma unroll 4
            for (int kk = 0; kk < 16; kk++) {
                float a[8], b[8];
                #pragma unroll
                for (int i = 0; i < 8; i++) a[i] = Es[kk * 64 + ty * 8 + i];
                #pragma unroll
                for (int j = 0; j < 8; j++) b[j] = Cs[kk * 256 + tx + 32 * j];
                #pragma unroll
                for (int i = 0; i < 8; i++)
                    #pragma unroll
                    for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
            __syncthreads();
        }
        // 2. g in shared memory
        #pragma unroll
        for (int i = 0; i < 8; i++) {
            const int lrow = ty * 8 + i, row = r0 + lrow;
            const float sRow = row < N ? scale[row] : 0.f;
            const float l = row < N ? lse[row] : 0.f;
            const float mul = 1.f + 2.f * zLoss * l;
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                const int lcol = tx + 32 * j, col = v0 + lcol;
                float gval = 0.f;
                if (sRow != 0.f && col < V) {
                    float x = acc[i][j];
                    if (bias) x += bias[col];
                    float f = 1.f;
                    if (softcap > 0.f) {
                        x = softcap * tanhf(x * invCap);
                        const float t = x * invCap;
                        f = 1.f - t * t;
                    }
                    gval = (__expf(x - l) * mul - alphaOverV) * sRow * f;
                }
                Gs[lrow * BW_GS + lcol] = gval;
            }
        }
    }
    __syncthreads();
    if (dBias) {
        const int col = v0 + tid;
        if (col < V) {
            float sum = 0.f;
            for (int r = 0; r < 64; r++) sum += Gs[r * BW_GS + tid];
            if (sum != 0.f) atomicAdd(&dBias[col], sum);
        }
    }
    // 3. dE[64 × D] += g · C[256 × D], 32 columns at a time: thread = (row tid/4, 8 columns)
    if (dE) {
        float* Cc = work; // [256][32]
        const int lrow = tid >> 2, c0 = (tid & 3) * 8, row = r0 + lrow;
        for (int d0 = 0; d0 < D; d0 += 32) {
            for (int q = 0; q < 32; q++) {
                const int idx = q * 256 + tid, v = idx >> 5, k = d0 + (idx & 31), col = v0 + v;
                Cc[idx] = (col < V && k < D) ? elem_to_f32(C[(size_t)col * D + k]) : 0.f;
            }
            __syncthreads();
            float acc[8];
            #pragma unroll
            for (int q = 0; q < 8; q++) acc[q] = 0.f;
            for (int v = 0; v < CCE_TILE_VOCAB; v++) {
                const float gv = Gs[lrow * BW_GS + v];
                #pragma unroll
                for (int q = 0; q < 8; q++) acc[q] = fmaf(gv, Cc[v * 32 + c0 + q], acc[q]);
            }
            if (row < N) {
                #pragma unroll
                for (int q = 0; q < 8; q++) {
                    const int k = d0 + c0 + q;
                    if (k < D && acc[q] != 0.f) atomicAdd(&dE[(size_t)row * D + k], acc[q]);
                }
            }
            __syncthreads();
        }
    }
    // 4. dC[256 × D] += gᵀ · E[64 × D]: thread = one vocabulary entry, 32 columns
    if (dC) {
        float* Ec = work; // [64][32]
        const int col = v0 + tid;
        for (int d0 = 0; d0 < D; d0 += 32) {
            for (int q = 0; q < 8; q++) {
                const int idx = q * 256 + tid, r = idx >> 5, k = d0 + (idx & 31), row = r0 + r;
                Ec[idx] = (row < N && k < D) ? elem_to_f32(E[(size_t)row * D + k]) : 0.f;
            }
            __syncthreads();
            float acc[32];
            #pragma unroll
            for (int q = 0; q < 32; q++) acc[q] = 0.f;
            for (int r = 0; r < 64; r++) {
                const float gv = Gs[r * BW_GS + tid];
                #pragma unroll
                for (int q = 0; q < 32; q++) acc[q] = fmaf(gv, Ec[r * 32 + q], acc[q]);
            }
            if (col < V) {
                #pragma unroll
                for (int q = 0; q < 32; q++) {
                    const int k = d0 + q;
                    if (k < D && acc[q] != 0.f) atomicAdd(&dC[(size_t)col * D + k], acc[q]);
                }
            }
            __syncthreads();
        }
    }
}
