// cce_common.cuh: what every cce4j kernel shares. No system headers, so that NVRTC (which has
// none) and nvcc compile the same text: our own integer typedefs, the element type chosen by
// CCE_ELEM (0 = f32, 1 = bf16, 2 = f16) with its conversion to f32, and small reductions.
#pragma once

typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#ifndef CCE_ELEM
#define CCE_ELEM 1
#endif

// CCE_ACCURACY=1 builds the forward kernels that also find each row's argmax (a module of its own,
// so that the forward without accuracy runs exactly the code it ran before)
#ifndef CCE_ACCURACY
#define CCE_ACCURACY 0
#endif

#if CCE_ELEM == 0
typedef float elem_t;
#else
typedef u16 elem_t;
#endif

#define CCE_NEG_INF (__int_as_float(0xff800000))
#define CCE_LOG2E 1.4426950408889634f
#define CCE_LN2 0.6931471805599453f

__device__ __forceinline__ float elem_to_f32(float x) { return x; }
__device__ __forceinline__ float elem_to_f32(u16 x) {
#if CCE_ELEM == 2
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x));
    return f;
#else
    return __uint_as_float(((u32)x) << 16);
#endif
}

__device__ __forceinline__ float bf16_to_f32(u16 x) { return __uint_as_float(((u32)x) << 16); }
__device__ __forceinline__ float f16_to_f32(u16 x) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x));
    return f;
}
__device__ __forceinline__ u16 f32_to_bf16(float x) {
    u16 r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}
__device__ __forceinline__ u16 f32_to_f16(float x) {
    u16 r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}

/** f32 → the element type, rounded to nearest even. */
__device__ __forceinline__ elem_t f32_to_elem(float x) {
#if CCE_ELEM == 0
    return x;
#elif CCE_ELEM == 2
    return f32_to_f16(x);
#else
    return f32_to_bf16(x);
#endif
}

__device__ __forceinline__ float ex2_approx(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
__device__ __forceinline__ float rcp_approx(float x) {
    float y;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

/** cap·tanh(x/cap) through one exp2 and one reciprocal: absolute error ~1e-6·cap, saturates cleanly. */
__device__ __forceinline__ float softcap_fast(float x, float invCap, float cap) {
    float e = ex2_approx(2.f * CCE_LOG2E * invCap * x);
    return cap - 2.f * cap * rcp_approx(e + 1.f);
}

/** softcap' at a capped value y = cap·tanh(x/cap): 1 − tanh² = 1 − (y/cap)². */
__device__ __forceinline__ float softcap_slope(float y, float invCap) {
    const float u = y * invCap;
    return 1.f - u * u;
}

/** x ← softcap(x) when cap > 0, returning softcap'(x) there (1 without a cap): the gradient kernels' step. */
__device__ __forceinline__ float softcap_with_slope(float& x, float invCap, float cap) {
    float f = 1.f;
    if (cap > 0.f) {
        x = softcap_fast(x, invCap, cap);
        f = softcap_slope(x, invCap);
    }
    return f;
}

/** max that lets -inf through and ignores nothing else (no NaN inputs here). */
__device__ __forceinline__ float fmax_(float a, float b) { return a > b ? a : b; }

__device__ __forceinline__ float warp_max(float v, int width) {
    for (int o = width / 2; o > 0; o >>= 1) v = fmax_(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v, int width) {
    for (int o = width / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/** Float max through integer atomics: correct for any mix of signs, with -inf as the start value. */
__device__ __forceinline__ void atomic_max_float(float* addr, float v) {
    if (v >= 0.f) atomicMax((int*)addr, __float_as_int(v));
    else atomicMin((u32*)addr, __float_as_uint(v));
}

/** The CCE skip tiles: 64 rows × 256 vocabulary entries (the forward records each tile's largest logit). */
#define CCE_TILE_ROWS 64
#define CCE_TILE_VOCAB 256
