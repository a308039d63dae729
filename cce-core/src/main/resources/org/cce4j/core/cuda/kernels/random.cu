// random.cu: benchmark inputs drawn on the device (a 590M-element classifier would take many
// seconds on the host): x = scale · N(0, 1) through Box–Muller on a counter-based hash (splitmix64),
// so a (seed, index) pair always gives the same value, rounded to the element type.
#include "cce_common.cuh"

__device__ __forceinline__ u64 splitmix64(u64 x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

extern "C" __global__ void fill_normal(elem_t* __restrict__ out, long long n, u64 seed, float scale) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const u64 h = splitmix64(seed ^ splitmix64((u64)i));
    const float u1 = ((u32)(h >> 40) + 1) * (1.0f / 16777217.0f);      // (0, 1]
    const float u2 = ((u32)(h & 0xFFFFFF)) * (1.0f / 16777216.0f);     // [0, 1)
    const float x = sqrtf(-2.f * logf(u1)) * cospif(2.f * u2) * scale;
#if CCE_ELEM == 0
    out[i] = x;
#elif CCE_ELEM == 1
    out[i] = f32_to_bf16(x);
#else
    out[i] = f32_to_f16(x);
#endif
}
