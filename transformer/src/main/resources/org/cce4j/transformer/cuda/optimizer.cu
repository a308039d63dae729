// optimizer.cu: what a training step does to the parameters, on the device so that a step never waits
// for the GPU: the squared global gradient norm (summed into an f64 device scalar) and a fused AdamW
// update whose clipping factor is read from that scalar by the kernel itself.
//
// sum_of_squares: each x² is exact in f64 (24-bit × 24-bit significands), each thread sums its squares
// in f64, the block reduces in f64 and adds its partial with one atomicAdd on double. Every rounding is
// an f64 one, ≤ (terms per thread + log2(threads) + blocks) of them along any path: about 5e-13
// relative for a 1-billion-element gradient over 1024 blocks, far inside the 1e-7 the f32 norm needs.
// (Kahan in f32 would do too, at more instructions per element; f64 adds are cheap next to the loads.)
// The blocks' atomics land in any order, so the f64 sum may change in its last bits from run to run.
//
// adamw: CpuBackend.adamw, operation for operation. Every f32 operation is written with an explicit
// rounding intrinsic (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn): these are never contracted into
// FMAs, whereas plain a * b + c is contracted by default (fmad=true) and would round differently from
// the CPU's separate multiply and add. With every operation correctly rounded on both sides, in the same
// order on the same operands, the result is the CPU's bit for bit (Java's (float) Math.sqrt(v) of a
// float is the correctly rounded f32 square root, as __fsqrt_rn is; the PTX nvcc 13.0 emits for adamw
// holds mul/add/sub/div/sqrt.rn.f32 and no f32 fma). The scalars come from the host, computed as
// CpuBackend computes them; NVRTC's defaults keep subnormals (no ftz), as Java does.
//
// Both are plain grid-stride loops, one element per thread and iteration (coalesced); no 16-byte vector
// paths, which would need aligned tensors of a multiple of the vector width and a second kernel each,
// and have not been measured to be worth it here.
#include "tx_common.cuh"

/** acc[0] += Σ x[i]², launched with blocks of at most 1024 threads. */
extern "C" __global__ void sum_of_squares(const float* __restrict__ x, double* __restrict__ acc, long long n) {
    __shared__ double warpSums[32];
    double s = 0.0;
    GRID_STRIDE(i, n) {
        const double v = x[i];
        s += v * v;
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) warpSums[warp] = s;
    __syncthreads();
    if (warp == 0) {
        s = lane < warps ? warpSums[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (lane == 0) atomicAdd(acc, s);
    }
}

/**
 * AdamWStep.clipFactor of the squared global norm: norm = (float) √sum, coef = maxGradNorm / (norm +
 * 1e-6), min(coef, 1), with NaN passing through as in Java's Math.min.
 */
__device__ __forceinline__ float clip_factor(double sumOfSquares, float maxGradNorm) {
    const float norm = __double2float_rn(__dsqrt_rn(sumOfSquares));
    const float coef = __fdiv_rn(maxGradNorm, __fadd_rn(norm, 1e-6f));
    return coef > 1.f ? 1.f : coef;
}

/**
 * One AdamW step over n elements (AdamWStep's formula, torch's single-tensor order of operations):
 * <pre>
 *   g = grad · clip                                    only when gradSumOfSquares is given
 *   p = p · decay
 *   m = lerpLow ? m + w·(g − m) : g − (g − m)·(1 − w)  w = 1 − β1, torch's lerp; oneMinusW is 1 − w in f32
 *   v = v·β2 + ((1 − β2)·g)·g
 *   p = p + negStepSize · (m / (√v / bc2Sqrt + eps))
 * </pre>
 * With master (f32) the update reads and writes master and stores value = bf16(master), rounded to
 * nearest even; without it value is f32 and is the parameter itself. gradSumOfSquares: f64 [1] or null
 * (no clipping; the host passes null when maxGradNorm ≤ 0).
 */
extern "C" __global__ void adamw(elem_t* value, float* master, const float* __restrict__ grad, float* __restrict__ m,
                                 float* __restrict__ v, const double* __restrict__ gradSumOfSquares, long long n,
                                 float maxGradNorm, float decay, float w, float oneMinusW, int lerpLow, float beta2,
                                 float oneMinusBeta2, float negStepSize, float bc2Sqrt, float eps) {
    const bool clipped = gradSumOfSquares != nullptr;
    const float clip = clipped ? clip_factor(*gradSumOfSquares, maxGradNorm) : 1.f;
    GRID_STRIDE(i, n) {
        float g = grad[i];
        if (clipped) g = __fmul_rn(g, clip);
        float p = __fmul_rn(master != nullptr ? master[i] : ld(value, i), decay);
        float mi = m[i];
        const float d = __fsub_rn(g, mi);
        mi = lerpLow ? __fadd_rn(mi, __fmul_rn(w, d)) : __fsub_rn(g, __fmul_rn(d, oneMinusW));
        const float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(oneMinusBeta2, g), g));
        const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2Sqrt), eps);
        p = __fadd_rn(p, __fmul_rn(negStepSize, __fdiv_rn(mi, denom)));
        m[i] = mi;
        v[i] = vi;
        if (master != nullptr) master[i] = p;
        value[i] = to_storage(p);
    }
}
