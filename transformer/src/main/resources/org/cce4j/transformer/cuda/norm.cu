// norm.cu: RMSNorm forward and backward, one warp per row (rows are the hidden size, a few thousand
// wide, or one head for the q/k norms), f32 sums; the weight gradient is a separate column-wise pass so
// that each row's dx needs no cross-row reduction.
//   y = x · rstd · g        rstd = 1/sqrt(mean(x²) + eps)      g = w, or 1 + w (unitOffset, Gemma)
//   dx = rstd·g·dy − x·rstd³·mean(x·g·dy)                        dw += Σ_rows dy·x·rstd
#include "tx_common.cuh"

__device__ __forceinline__ float gain(const elem_t* w, int i, int unitOffset) {
    float g = ld(w, i);
    return unitOffset ? 1.f + g : g;
}

extern "C" __global__ void rmsnorm_fwd(const elem_t* __restrict__ x, const elem_t* __restrict__ w, elem_t* __restrict__ y,
                                       float* __restrict__ rstd, int rows, int d, float eps, int unitOffset) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= rows) return;
    const elem_t* xr = x + (long long)row * d;
    float ss = 0.f;
    for (int i = lane; i < d; i += 32) {
        const float v = ld(xr, i);
        ss += v * v;
    }
    ss = warp_sum(ss, 32);
    const float inv = rsqrtf(ss / d + eps);
    if (lane == 0) rstd[row] = inv;
    elem_t* yr = y + (long long)row * d;
    for (int i = lane; i < d; i += 32) yr[i] = to_storage(ld(xr, i) * inv * gain(w, i, unitOffset));
}

extern "C" __global__ void rmsnorm_bwd_dx(const elem_t* __restrict__ dy, const elem_t* __restrict__ x, const elem_t* __restrict__ w,
                                          const float* __restrict__ rstd, elem_t* dx, int rows, int d, int unitOffset) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= rows) return;
    const long long base = (long long)row * d;
    const float inv = rstd[row];
    float dot = 0.f;
    for (int i = lane; i < d; i += 32) dot += ld(dy, base + i) * gain(w, i, unitOffset) * ld(x, base + i);
    dot = warp_sum(dot, 32);
    const float c = dot / d * inv * inv * inv;
    for (int i = lane; i < d; i += 32) {
        const float v = inv * gain(w, i, unitOffset) * ld(dy, base + i) - ld(x, base + i) * c;
        dx[base + i] = to_storage(v);
    }
}

/** dw[i] += Σ dy·x·rstd over rows [blockIdx.y·chunk, +chunk), one thread per column. */
extern "C" __global__ void rmsnorm_bwd_dw(const elem_t* __restrict__ dy, const elem_t* __restrict__ x, const float* __restrict__ rstd,
                                          float* __restrict__ dw, int rows, int d, int chunk) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= d) return;
    const int r0 = blockIdx.y * chunk, r1 = min(rows, r0 + chunk);
    float s = 0.f;
    for (int r = r0; r < r1; r++) {
        const long long o = (long long)r * d + col;
        s += ld(dy, o) * ld(x, o) * rstd[r];
    }
    if (r1 > r0) atomicAdd(&dw[col], s);
}
