// cce_rows.cu: the O(N) and O(tiles) ends of the CCE loss, shared by the SIMT and tensor-core
// kernels:
//   cce_merge          per row: the splits' (max, Σexp) → lse, the token loss, the lse to return; with
//                      the splits' argmaxes (accuracy) whether the first maximal index is the target
//   cce_count_correct  the number of rows whose argmax is their target, on the device
//   cce_group_stats    per 64-row group: the smallest lse and the largest |1 + 2λ·lse| of rows that count
//   cce_plan           per 64×256 tile: is any |p·(1+2λ·lse) − α/V| ≥ filterEps possible? The bound is
//                      exp(tileMax − lse_min)·mul_max + α/V, so skipped tiles are never recomputed
//   cce_target_logits  each row's target logit z_t = softcap(E[r]·C[t] + b[t]), O(N·D), for the forward
//                      that queues its tensor-core kernel before the targets are on the device
//   cce_reduce_loss    the reduced loss on the device (so the forward never waits for the host)
//   cce_target_backward the one-hot part of the gradient, −(1−α)·s·softcap'(z_t), as an O(N·D)
//                      gather/scatter instead of inside the tiles (so tiles depend on p alone)
#include "cce_common.cuh"

extern "C" __global__ void cce_merge(const float* __restrict__ partMax, const float* __restrict__ partSum,
        const float* __restrict__ partLsum, int S, int N, int V, const int* __restrict__ target,
        const float* __restrict__ weight, const float* __restrict__ targetZ, float alpha, float zLoss,
        int returnLse, float* __restrict__ lseAll, float* __restrict__ lseOut, float* __restrict__ tokenLoss,
        const int* __restrict__ partArg, int* __restrict__ correct) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    float m = CCE_NEG_INF;
    int arg = 0x7fffffff;
    for (int s = 0; s < S; s++) {
        const float ms = partMax[(size_t)s * N + row];
        // splits cover increasing vocabulary ranges: a tie keeps the earlier split's (smaller) index
        if (partArg && ms > m) arg = partArg[(size_t)s * N + row];
        m = fmax_(m, ms);
    }
    double sum = 0.0, lsum = 0.0;
    for (int s = 0; s < S; s++) {
        sum += (double)partSum[(size_t)s * N + row] * exp((double)partMax[(size_t)s * N + row] - (double)m);
        if (partLsum) lsum += partLsum[(size_t)s * N + row];
    }
    const double l = (double)m + log(sum);
    const int t = target[row];
    if (correct) correct[row] = t >= 0 && arg == t ? 1 : 0;
    lseAll[row] = (float)l;
    lseOut[row] = (t >= 0 || returnLse) ? (float)l : __int_as_float(0x7fc00000);
    float loss = 0.f;
    if (t >= 0) {
        double v = l - (1.0 - alpha) * (double)targetZ[row] + (double)zLoss * l * l;
        if (alpha != 0.f) v -= (double)alpha * lsum / V;
        loss = (float)(v * (weight ? weight[row] : 1.f));
    }
    tokenLoss[row] = loss;
}

extern "C" __global__ void cce_group_stats(const float* __restrict__ lse, const float* __restrict__ scale, int N,
        float zLoss, float* __restrict__ lseMin, float* __restrict__ mulMax) {
    const int g = blockIdx.x, lane = threadIdx.x; // 64 threads
    const int row = g * 64 + lane;
    float lo = __int_as_float(0x7f800000), mx = 0.f;
    if (row < N && scale[row] != 0.f) {
        lo = lse[row];
        mx = fabsf(1.f + 2.f * zLoss * lo);
    }
    __shared__ float a[64], b[64];
    a[lane] = lo;
    b[lane] = mx;
    __syncthreads();
    if (lane == 0) {
        for (int i = 1; i < 64; i++) { lo = fminf(lo, a[i]); mx = fmaxf(mx, b[i]); }
        lseMin[g] = lo;
        mulMax[g] = mx;
    }
}

extern "C" __global__ void cce_plan(const float* __restrict__ tileMax, const float* __restrict__ lseMin,
        const float* __restrict__ mulMax, int NG, int VT, float eps, float alphaOverV,
        int* __restrict__ count, int* __restrict__ tiles) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= NG * VT) return;
    const int g = idx / VT;
    const float lo = lseMin[g];
    if (!(lo < __int_as_float(0x7f800000))) return; // no row of the group counts
    const float bound = __expf(tileMax[idx] - lo) * mulMax[g] + alphaOverV;
    if (bound >= eps) tiles[atomicAdd(count, 1)] = idx;
}

/** One warp per row: dE[r] += c·C[t], dC[t] += c·E[r], dBias[t] += c with c = −(1−α)·s·softcap'(z_t). */
extern "C" __global__ void cce_target_backward(const elem_t* __restrict__ E, const elem_t* __restrict__ C,
        const int* __restrict__ target, const float* __restrict__ targetZ, const float* __restrict__ scale,
        int N, int D, float softcap, float oneMinusAlpha, float* __restrict__ dE, float* __restrict__ dC,
        float* __restrict__ dBias) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= N) return;
    const int t = target[row];
    const float s = scale[row];
    if (t < 0 || s == 0.f) return;
    float f = 1.f;
    if (softcap > 0.f) {
        const float u = targetZ[row] / softcap;
        f = 1.f - u * u;
    }
    const float c = -oneMinusAlpha * s * f;
    if (c == 0.f) return;
    for (int d = lane; d < D; d += 32) {
        if (dE) dE[(size_t)row * D + d] += c * elem_to_f32(C[(size_t)t * D + d]);
        if (dC) atomicAdd(&dC[(size_t)t * D + d], c * elem_to_f32(E[(size_t)row * D + d]));
    }
    if (dBias && lane == 0) atomicAdd(&dBias[t], c);
}

/**
 * One CTA of 1024 threads: out[0] = Σ tokenLoss[r] over rows that count (target ≥ 0), in double,
 * divided by {@code divisor} (the weight sum for mean, 1 for sum and none; 0 gives 0).
 */
extern "C" __global__ void __launch_bounds__(1024) cce_reduce_loss(const float* __restrict__ tokenLoss,
        const int* __restrict__ target, int N, double divisor, float* __restrict__ out) {
    __shared__ double part[32];
    double s = 0.0;
    for (int r = threadIdx.x; r < N; r += blockDim.x) {
        if (target[r] >= 0) s += (double)tokenLoss[r];
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.0;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (threadIdx.x == 0) out[0] = divisor == 0.0 ? 0.f : (float)(s / divisor);
    }
}

/** One CTA of 1024 threads: out[0] = Σ correct[r] (rows whose first maximal logit is their target). */
extern "C" __global__ void __launch_bounds__(1024) cce_count_correct(const int* __restrict__ correct, int N,
        int* __restrict__ out) {
    __shared__ int part[32];
    int s = 0;
    for (int r = threadIdx.x; r < N; r += blockDim.x) s += correct[r];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (threadIdx.x == 0) out[0] = s;
    }
}

/** One warp per row: targetZ[r] = softcap(E[r]·C[t] + bias[t]), 0 where the row does not count. */
extern "C" __global__ void cce_target_logits(const elem_t* __restrict__ E, const elem_t* __restrict__ C,
        const float* __restrict__ bias, const int* __restrict__ target, int N, int D, float softcap,
        float* __restrict__ targetZ) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= N) return;
    const int t = target[row];
    if (t < 0) {
        if (lane == 0) targetZ[row] = 0.f;
        return;
    }
    float s = 0.f;
    for (int d = lane; d < D; d += 32) s += elem_to_f32(E[(size_t)row * D + d]) * elem_to_f32(C[(size_t)t * D + d]);
    s = warp_sum(s, 32);
    if (lane == 0) {
        float z = s + (bias ? bias[t] : 0.f);
        if (softcap > 0.f) z = softcap_fast(z, 1.f / softcap, softcap);
        targetZ[row] = z;
    }
}
