// cce_dense.cu: the gradient block of the dense CCE backward (CceDenseBackward.java). cuBLAS has
// written raw logits S = E·Cᵀ of a chunk of rows × vocabulary entries in f32; this kernel turns each
// row into the softmax part of the gradient,
//
//   g = (p·(1+2λ·lse) − α/V)·s·softcap'(x) / gScale,   p = exp(x − lse),  x = softcap(S + bias)
//
// in the input element type, written IN PLACE at the start of the same row (a bf16/f16 row of cols
// elements fits in the first half of its f32 row), so the chunk needs 4 bytes per entry, not 6.
// One CTA owns one row: it reads the whole row into registers before the first write, which is what
// makes the in-place narrowing safe. The one-hot part of the gradient is left to cce_target_backward,
// as in the tiled backward.
#include "cce_common.cuh"

#define DENSE_THREADS 256
#define DENSE_PER_THREAD 32 // chunks up to 8192 columns

extern "C" __global__ void __launch_bounds__(DENSE_THREADS) cce_dense_grad(
        float* __restrict__ S, int cols, int ldS, int r0, int v0, const float* __restrict__ bias,
        const float* __restrict__ lse, const float* __restrict__ scale, float softcap, float zLoss,
        float alphaOverV, float invGScale) {
    const int lrow = blockIdx.x, row = r0 + lrow, tid = threadIdx.x;
    float* in = S + (size_t)lrow * ldS;
    elem_t* out = (elem_t*)in;
    const float s = scale[row];
    if (s == 0.f) { // rows that do not count (or whose upstream is 0) contribute nothing
        for (int c = tid; c < cols; c += DENSE_THREADS) out[c] = f32_to_elem(0.f);
        return;
    }
    float x[DENSE_PER_THREAD];
    #pragma unroll
    for (int q = 0; q < DENSE_PER_THREAD; q++) {
        const int c = q * DENSE_THREADS + tid;
        x[q] = c < cols ? in[c] : 0.f;
    }
    __syncthreads(); // every read of this row is done before any narrowed write lands on it
    const float l = lse[row], mul = 1.f + 2.f * zLoss * l, invCap = softcap > 0.f ? 1.f / softcap : 0.f;
    #pragma unroll
    for (int q = 0; q < DENSE_PER_THREAD; q++) {
        const int c = q * DENSE_THREADS + tid;
        if (c < cols) {
            float z = x[q];
            if (bias) z += bias[v0 + c];
            const float f = softcap_with_slope(z, invCap, softcap);
            out[c] = f32_to_elem((__expf(z - l) * mul - alphaOverV) * s * f * invGScale);
        }
    }
}
