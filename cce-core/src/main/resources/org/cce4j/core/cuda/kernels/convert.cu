// convert.cu: element-type conversions on the device (bias and token weights arrive in any float
// type; the baseline turns its f32 gradient into the inputs' type for cuBLAS). One thread per element.
#include "cce_common.cuh"

extern "C" __global__ void bf16_to_f32(const u16* __restrict__ in, float* __restrict__ out, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = bf16_to_f32(in[i]);
}

extern "C" __global__ void f16_to_f32(const u16* __restrict__ in, float* __restrict__ out, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = f16_to_f32(in[i]);
}

extern "C" __global__ void f32_to_bf16(const float* __restrict__ in, u16* __restrict__ out, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = f32_to_bf16(in[i]);
}

extern "C" __global__ void f32_to_f16(const float* __restrict__ in, u16* __restrict__ out, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = f32_to_f16(in[i]);
}
