// tx_common.cuh: what the transformer kernels share on top of cce-core's cce_common.cuh: the storage
// type elem_t (f32 when CCE_ELEM is 0, bf16 when 1) read and written through f32, in which all
// arithmetic happens, and a grid-stride loop for the element-wise kernels.
#pragma once
#include "cce_common.cuh"

#if CCE_ELEM == 2
#error "the transformer kernels store f32 (CCE_ELEM=0) or bf16 (CCE_ELEM=1)"
#endif

__device__ __forceinline__ float ld(const elem_t* p, long long i) { return elem_to_f32(p[i]); }

__device__ __forceinline__ elem_t to_storage(float x) {
#if CCE_ELEM == 0
    return x;
#else
    return f32_to_bf16(x);
#endif
}

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

/**
 * 16 bytes of storage elements (8 bf16 or 4 f32), for kernels that move whole vectors: the host picks
 * the vector kernels only when every pointer is 16-byte aligned and the length a multiple of VEC.
 */
#define VEC (16 / (int)sizeof(elem_t))
struct __align__(16) Vec {
    elem_t v[VEC];
};
