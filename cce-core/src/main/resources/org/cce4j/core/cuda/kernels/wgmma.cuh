// wgmma.cuh: the Hopper warpgroup tensor-core pieces the kernels built on wgmma share (cce_forward_wgmma.cu,
// the transformer's attention_fwd_wgmma.cu): the sm_90a test, the shared-memory descriptor of a K-major
// operand in the 128-byte swizzle (what TMA's SWIZZLE_128B writes, and attention's cp.async loads write by
// hand), and the fence, commit and wait of asynchronous wgmma groups.
#pragma once
#include "cce_common.cuh"

// CCE_SM90A: set by the host when NVRTC compiles for sm_90a (nvcc defines __CUDA_ARCH_FEAT_SM90_ALL)
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(CCE_SM90A)
#define CCE_HAS_WGMMA 1
#endif

#if defined(CCE_HAS_WGMMA)
/**
 * K-major operand tile with 128-byte swizzle: rows of 64 16-bit elements (128 bytes), 8-row groups 1024
 * bytes apart, the groups 1024-byte aligned; 16-byte chunk c of row r is stored at chunk c ^ (r % 8).
 * A k-step of 16 elements further along a row starts 32 bytes on (the swizzle applies to the address).
 */
__device__ __forceinline__ u64 smem_desc(u32 addr) {
    u64 d = (u64)((addr & 0x3FFFF) >> 4);
    d |= (u64)1 << 16;            // leading byte offset (unused with 128B swizzle, K-major)
    d |= (u64)(1024 >> 4) << 32;  // stride byte offset: 8 rows × 128 B
    d |= (u64)1 << 62;            // 128-byte swizzle
    return d;
}
/** Makes this thread's generic-proxy writes to shared memory (st.shared, completed cp.async) visible to wgmma's reads. */
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait1() { asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory"); }
#endif
