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

// With vec (d a multiple of VEC, rows 16-byte aligned) each lane moves whole 16-byte vectors.

extern "C" __global__ void rmsnorm_fwd(const elem_t* __restrict__ x, const elem_t* __restrict__ w, elem_t* __restrict__ y,
                                       float* __restrict__ rstd, int rows, int d, float eps, int unitOffset, int vec) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= rows) return;
    const elem_t* xr = x + (long long)row * d;
    elem_t* yr = y + (long long)row * d;
    float ss = 0.f;
    if (vec) {
        for (int v = lane; v < d / VEC; v += 32) {
            const Vec xv = ((const Vec*)xr)[v];
            #pragma unroll
            for (int e = 0; e < VEC; e++) {
                const float a = elem_to_f32(xv.v[e]);
                ss += a * a;
            }
        }
    } else {
        for (int i = lane; i < d; i += 32) {
            const float v = ld(xr, i);
            ss += v * v;
        }
    }
    ss = warp_sum(ss, 32);
    const float inv = rsqrtf(ss / d + eps);
    if (lane == 0) rstd[row] = inv;
    if (vec) {
        for (int v = lane; v < d / VEC; v += 32) {
            const Vec xv = ((const Vec*)xr)[v], wv = ((const Vec*)w)[v];
            Vec o;
            #pragma unroll
            for (int e = 0; e < VEC; e++) {
                const float g = elem_to_f32(wv.v[e]);
                o.v[e] = to_storage(elem_to_f32(xv.v[e]) * inv * (unitOffset ? 1.f + g : g));
            }
            ((Vec*)yr)[v] = o;
        }
    } else {
        for (int i = lane; i < d; i += 32) yr[i] = to_storage(ld(xr, i) * inv * gain(w, i, unitOffset));
    }
}

extern "C" __global__ void rmsnorm_bwd_dx(const elem_t* __restrict__ dy, const elem_t* __restrict__ x, const elem_t* __restrict__ w,
                                          const float* __restrict__ rstd, elem_t* dx, int rows, int d, int unitOffset, int vec) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= rows) return;
    const long long base = (long long)row * d;
    const float inv = rstd[row];
    float dot = 0.f;
    if (vec) {
        for (int v = lane; v < d / VEC; v += 32) {
            const Vec dv = ((const Vec*)(dy + base))[v], xv = ((const Vec*)(x + base))[v], wv = ((const Vec*)w)[v];
            #pragma unroll
            for (int e = 0; e < VEC; e++) {
                const float g = elem_to_f32(wv.v[e]);
                dot += elem_to_f32(dv.v[e]) * (unitOffset ? 1.f + g : g) * elem_to_f32(xv.v[e]);
            }
        }
    } else {
        for (int i = lane; i < d; i += 32) dot += ld(dy, base + i) * gain(w, i, unitOffset) * ld(x, base + i);
    }
    dot = warp_sum(dot, 32);
    const float c = dot / d * inv * inv * inv;
    if (vec) {
        for (int v = lane; v < d / VEC; v += 32) {
            const Vec dv = ((const Vec*)(dy + base))[v], xv = ((const Vec*)(x + base))[v], wv = ((const Vec*)w)[v];
            Vec o;
            #pragma unroll
            for (int e = 0; e < VEC; e++) {
                const float g = elem_to_f32(wv.v[e]);
                o.v[e] = to_storage(inv * (unitOffset ? 1.f + g : g) * elem_to_f32(dv.v[e]) - elem_to_f32(xv.v[e]) * c);
            }
            ((Vec*)(dx + base))[v] = o;
        }
    } else {
        for (int i = lane; i < d; i += 32) {
            const float v = inv * gain(w, i, unitOffset) * ld(dy, base + i) - ld(x, base + i) * c;
            dx[base + i] = to_storage(v);
        }
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
