// vocab_parallel.cu: the per-row arithmetic of the vocabulary-parallel loss (core.dist.VocabParallelCrossEntropy)
// on the device, so that nothing but the all-gather of 2N floats per rank and the all-reduce of dE leaves
// it. The target logits come from cce_rows.cu's cce_target_logits and the rank-one correction from its
// cce_target_backward (given the correction as its scale and −1 as 1−α); these kernels are what is left:
//   vp_partials   this rank's [lse_r (N) | z_t where the target is in its shard, else 0 (N)], to all-gather
//   vp_merge      the gathered [size × 2N] → LSE = m + log Σ_r exp(lse_r − m) (rank order, double), the token
//                 loss w·(LSE − Σ_r z_r + λ·LSE²) of rows that count (0 elsewhere), NaN where no rank's lse is finite
//   vp_upstream   per row: the inner backward's upstream u = s·exp(lse_r − LSE)·(1 + 2λ·LSE) and the
//                 correction u − s·[target in shard] at the local column (s: the reduction's factor × weight)
//   vp_add        dst += src (the reduced partial dE into the caller's gradient)
// One thread per row (per element for vp_add); everything f32 in memory, the merge in double as the host does.
#include "cce_common.cuh"

extern "C" __global__ void vp_partials(const float* __restrict__ lse, const float* __restrict__ targetZ,
        const int* __restrict__ inShard, const int* __restrict__ target, int N, float* __restrict__ out) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    out[row] = lse[row];
    out[N + row] = (target[row] >= 0 && inShard[row]) ? targetZ[row] : 0.f;
}

extern "C" __global__ void vp_merge(const float* __restrict__ gathered, int size, int N, const int* __restrict__ target,
        const float* __restrict__ weight, float zLoss, float* __restrict__ lseOut, float* __restrict__ tokenLoss) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    double m = (double)CCE_NEG_INF;
    for (int q = 0; q < size; q++) m = fmax(m, (double)gathered[(size_t)q * 2 * N + row]);
    const int t = target[row];
    if (!isfinite(m)) {
        lseOut[row] = __int_as_float(0x7fc00000);
        tokenLoss[row] = 0.f;
        return;
    }
    double s = 0.0, z = 0.0;
    for (int q = 0; q < size; q++) {
        s += exp((double)gathered[(size_t)q * 2 * N + row] - m);
        z += (double)gathered[(size_t)q * 2 * N + N + row];
    }
    const float l = (float)(m + log(s));
    lseOut[row] = l;
    float loss = 0.f;
    if (t >= 0) {
        const double ld = l;
        loss = (float)((double)(weight ? weight[row] : 1.f) * (ld - z + (double)zLoss * ld * ld));
    }
    tokenLoss[row] = loss;
}

extern "C" __global__ void vp_upstream(const float* __restrict__ scale, const float* __restrict__ lseLocal,
        const float* __restrict__ lseGlobal, const int* __restrict__ inShard, const int* __restrict__ target, int N,
        float zLoss, float* __restrict__ upstream, float* __restrict__ correction) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    const float s = scale[row];
    if (target[row] < 0 || s == 0.f) {
        upstream[row] = 0.f;
        correction[row] = 0.f;
        return;
    }
    const double l = lseGlobal[row];
    const float u = (float)((double)s * exp((double)lseLocal[row] - l) * (1.0 + 2.0 * (double)zLoss * l));
    upstream[row] = u;
    correction[row] = (float)((double)u - (inShard[row] ? (double)s : 0.0));
}

extern "C" __global__ void vp_add(float* __restrict__ dst, const float* __restrict__ src, long long n) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] += src[i];
}
