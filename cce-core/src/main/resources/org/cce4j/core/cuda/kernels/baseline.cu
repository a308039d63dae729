// baseline.cu: the row-wise halves of the materialized baseline. cuBLAS writes the N×V logits in
// f32; these kernels turn them into softcapped logits and per-row statistics (forward), then into
// the gradient in place (backward), which cuBLAS multiplies with C and E. One 256-thread block per
// row; everything is read and written once per pass, as PyTorch's materialized loss does. With
// accuracy (argOut set) the forward also keeps, per thread, the first index of its largest logit
// and reduces those to the row's first maximal index: a template chosen once per CTA, so the
// forward without accuracy runs the loop it always ran.
#include "cce_common.cuh"

__device__ __forceinline__ float block_reduce(float v, bool isMax, float* red) {
    v = isMax ? warp_max(v, 32) : warp_sum(v, 32);
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    float r = red[0];
    for (int i = 1; i < (int)(blockDim.x >> 5); i++) r = isMax ? fmax_(r, red[i]) : r + red[i];
    return r;
}

/** The smallest v over the CTA (every thread gets it). */
__device__ __forceinline__ int block_min_int(int v, int* red) {
    for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    int r = red[0];
    for (int i = 1; i < (int)(blockDim.x >> 5); i++) r = min(r, red[i]);
    return r;
}

template <bool ARGMAX>
__device__ __forceinline__ void forward_row(float* __restrict__ logits, const float* __restrict__ bias,
        const int* __restrict__ target, int N, int V, float softcap, int smoothing,
        float* __restrict__ rowMax, float* __restrict__ rowSum, float* __restrict__ rowLsum, float* __restrict__ targetZ,
        int* __restrict__ argOut) {
    __shared__ float red[32];
    __shared__ int redArg[32];
    const int row = blockIdx.x;
    float* z = logits + (size_t)row * V;
    const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;
    float m = CCE_NEG_INF, ls = 0.f;
    int arg = 0x7fffffff;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float x = z[j];
        if (bias) x += bias[j];
        if (softcap > 0.f) x = softcap * tanhf(x * invCap);
        z[j] = x;
        if (ARGMAX && x > m) arg = j; // a thread's columns increase: an equal value keeps the earlier
        m = fmax_(m, x);
        ls += x;
    }
    const float mine = m;
    m = block_reduce(m, true, red);
    if (ARGMAX) {
        const int first = block_min_int(mine == m ? arg : 0x7fffffff, redArg);
        if (threadIdx.x == 0) argOut[row] = first;
    }
    float s = 0.f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) s += __expf(z[j] - m);
    s = block_reduce(s, false, red);
    if (smoothing) ls = block_reduce(ls, false, red);
    if (threadIdx.x == 0) {
        rowMax[row] = m;
        rowSum[row] = s;
        if (smoothing) rowLsum[row] = ls;
        const int t = target[row];
        if (t >= 0) targetZ[row] = z[t];
    }
}

/** z = softcap(x + b) in place; partMax/partSum/partLsum [N] (S = 1), the target's z and (argOut) the argmax for cce_merge. */
extern "C" __global__ void baseline_forward_rows(float* __restrict__ logits, const float* __restrict__ bias,
        const int* __restrict__ target, int N, int V, float softcap, int smoothing,
        float* __restrict__ rowMax, float* __restrict__ rowSum, float* __restrict__ rowLsum, float* __restrict__ targetZ,
        int* __restrict__ argOut) {
    if (argOut) forward_row<true>(logits, bias, target, N, V, softcap, smoothing, rowMax, rowSum, rowLsum, targetZ, argOut);
    else forward_row<false>(logits, bias, target, N, V, softcap, smoothing, rowMax, rowSum, rowLsum, targetZ, argOut);
}

/** g = (p·(1+2λ·lse) − α/V − (1−α)·onehot)·s·softcap' in place, scaled by 1/gScale. */
extern "C" __global__ void baseline_backward_rows(float* __restrict__ logits, const int* __restrict__ target,
        const float* __restrict__ lse, const float* __restrict__ scale, int N, int V, float softcap, float zLoss,
        float alpha, float invGScale) {
    const int row = blockIdx.x;
    float* z = logits + (size_t)row * V;
    const float s = scale[row] * invGScale;
    const float l = lse[row];
    const float mul = 1.f + 2.f * zLoss * l;
    const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;
    const float offset = alpha / V;
    const int t = target[row];
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float g = 0.f;
        if (s != 0.f) {
            const float x = z[j];
            g = __expf(x - l) * mul - offset - (j == t ? 1.f - alpha : 0.f);
            if (softcap > 0.f) g *= softcap_slope(x, invCap);
            g *= s;
        }
        z[j] = g;
    }
}

/** dBias[j] += gScale · Σ_rows g[row][j]. */
extern "C" __global__ void baseline_column_sums(const float* __restrict__ g, int N, int V, float gScale,
        float* __restrict__ dBias) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= V) return;
    float s = 0.f;
    for (int r = 0; r < N; r++) s += g[(size_t)r * V + j];
    dBias[j] += s * gScale;
}
