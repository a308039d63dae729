// norm_bwd_fused.cu: RMSNorm's backward in one pass over dy and x, for rows of up to 32·VEC·NORM_VPL
// elements (NORM_VPL, the 16-byte vectors each lane owns, is a compile-time define so that the weight
// gradient's partial sums stay in registers). norm.cu's pair of kernels reads dy and x twice, once for
// dx and once column-wise for dw; here each warp takes rows in turn, writes dx and adds dy·x·rstd into
// its lanes' registers, and the block adds its warps' sums to dw at the end. dx may also take the
// residual stream's gradient (dx = the norm's gradient + residual), which saves the add after it; the
// norm's gradient is rounded to storage before the add, so dx is bit for bit what the two kernels and
// the add wrote (one rounding fewer measured no more exact: a gradient that cancels, k_proj.bias of
// CudaModelTest's llama3_tied_bf16_sharded, moved 1.8e-2 → 2.1e-2 on the H200, noise either way, and
// the CPU's bf16 emulation composes the two operations).
//   dx = rstd·g·dy − x·rstd³·mean(x·g·dy) [+ residual]         dw += Σ_rows dy·x·rstd
#include "tx_common.cuh"

#ifndef NORM_VPL
#error "NORM_VPL (16-byte vectors per lane) must be defined"
#endif

extern "C" __global__ void __launch_bounds__(128) rmsnorm_bwd_fused(
        const Vec* __restrict__ dy, const Vec* __restrict__ x, const Vec* __restrict__ w, const float* __restrict__ rstd,
        const Vec* residual, Vec* dx, float* __restrict__ dw, int rows, int d, int unitOffset) {
    extern __shared__ float blockDw[];   // [d], the block's warps' sums (with dw)
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    const int nv = d / VEC;
    if (dw != nullptr) {
        for (int i = threadIdx.x; i < d; i += blockDim.x) blockDw[i] = 0.f;
    }
    float acc[NORM_VPL][VEC];
    #pragma unroll
    for (int j = 0; j < NORM_VPL; j++) {
        #pragma unroll
        for (int e = 0; e < VEC; e++) acc[j][e] = 0.f;
    }
    const int totalWarps = gridDim.x * warps;
    for (int row = blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += totalWarps) {
        const long long base = (long long)row * nv;
        const float inv = rstd[row];
        float dot = 0.f;
        #pragma unroll
        for (int j = 0; j < NORM_VPL; j++) {
            const int v = lane + 32 * j;
            if (v < nv) {
                const Vec dv = dy[base + v], xv = x[base + v], wv = w[v];
                #pragma unroll
                for (int e = 0; e < VEC; e++) {
                    const float g = elem_to_f32(wv.v[e]), dd = elem_to_f32(dv.v[e]), xx = elem_to_f32(xv.v[e]);
                    dot += dd * (unitOffset ? 1.f + g : g) * xx;
                    acc[j][e] += dd * xx * inv;
                }
            }
        }
        dot = warp_sum(dot, 32);
        const float c = dot / d * inv * inv * inv;
        #pragma unroll
        for (int j = 0; j < NORM_VPL; j++) {
            const int v = lane + 32 * j;
            if (v < nv) {
                const Vec dv = dy[base + v], xv = x[base + v], wv = w[v];
                Vec rv;
                if (residual != nullptr) rv = residual[base + v];
                Vec o;
                #pragma unroll
                for (int e = 0; e < VEC; e++) {
                    const float g = elem_to_f32(wv.v[e]);
                    float val = inv * (unitOffset ? 1.f + g : g) * elem_to_f32(dv.v[e]) - elem_to_f32(xv.v[e]) * c;
                    if (residual != nullptr) val = elem_to_f32(to_storage(val)) + elem_to_f32(rv.v[e]);
                    o.v[e] = to_storage(val);
                }
                dx[base + v] = o;
            }
        }
    }
    if (dw == nullptr) return;
    __syncthreads();
    #pragma unroll
    for (int j = 0; j < NORM_VPL; j++) {
        const int v = lane + 32 * j;
        if (v < nv) {
            #pragma unroll
            for (int e = 0; e < VEC; e++) atomicAdd(&blockDw[v * VEC + e], acc[j][e]);
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < d; i += blockDim.x) atomicAdd(&dw[i], blockDw[i]);
}
