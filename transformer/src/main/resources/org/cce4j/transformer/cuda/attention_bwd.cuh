// attention_bwd.cuh: what the fused attention backward kernels share (attention_bwd_fused.cu for heads up
// to 128, attention_bwd_fused_wide.cu above): the CTA's key rows, the query tiles that can see them, the
// streamed query tile (Q, dO and the per-query words, all by cp.async), and the dQ product from the
// key-major dSᵀ tile with its f32 vector reductions. attention_mma.cu's split dK/dV kernel takes the key
// rows and query tiles from here too, with its own loads (plain stores of the per-query words).
#pragma once
#include "attention_mma.cuh"

#define DS_LD 72 // dSᵀ and Pᵀ rows: 64 queries + 8 bf16 of padding (144 bytes: ldmatrix rows in distinct banks)

/** dst[0..1] += (a, b) in global memory, one vector reduction on sm_90 (dst 8-byte aligned). */
__device__ __forceinline__ void red_add2(float* dst, float a, float b) {
#if __CUDA_ARCH__ >= 900
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};" :: "l"(dst), "f"(a), "f"(b) : "memory");
#else
    atomicAdd(dst, a);
    atomicAdd(dst + 1, b);
#endif
}

/**
 * The number of 64-query tiles from k0 on that can see a key of [k0, k0 + 64), through shared memory
 * (every thread of the CTA calls it; its first 64 threads read the keys' bounds).
 */
__device__ __forceinline__ int bwd_query_tiles(const AttnMask& m, long long tok0, int k0, int* sHi, int tid) {
    if (tid == 0) *sHi = k0;
    __syncthreads();
    if (tid < 64 && k0 + tid < m.T) atomicMax(sHi, attn_query_hi(m, tok0, k0 + tid));
    __syncthreads();
    return (min(m.T, *sHi) - k0 + 63) / 64;
}

/** A lane's two key rows k0r + lane/4 + {0, 8}: position, document and whether it exists and is not padding. */
struct KeyRows {
    int key[2], doc[2];
    bool ok[2];
};

__device__ __forceinline__ KeyRows key_rows(const AttnMask& m, long long tok0, int k0r, int lane) {
    KeyRows r;
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        r.key[hh] = k0r + (lane >> 2) + hh * 8;
        const bool in = r.key[hh] < m.T;
        r.doc[hh] = (m.docs && in) ? m.docs[tok0 + r.key[hh]] : 0;
        r.ok[hh] = in && (!m.keyMask || m.keyMask[tok0 + r.key[hh]]);
    }
    return r;
}

/**
 * Starts loading query tile [q0, q0 + 64) of head h: Q and dO rows into sQ, sdO, and lse, δ and the
 * document per query into sLse, sDelta, sDoc, by cp.async, so that no warp waits on these loads
 * before its compute; rows past the end get lse 0, which the per-element rule (query < T) masks.
 */
template <int NT>
__device__ __forceinline__ void bwd_issue_queries(u16* sQ, u16* sdO, float* sLse, float* sDelta, int* sDoc, const u16* Q, const u16* dO,
                                                  const float* LSE, const float* delta, const int* docs, long long tok0, int T, int H,
                                                  int h, int q0, int tid) {
    const int qW = H * HD;
    load_tile<NT>(sQ, Q + tok0 * qW + h * HD, qW, q0, T - q0, tid);
    load_tile<NT>(sdO, dO + tok0 * qW + h * HD, qW, q0, T - q0, tid);
    if (tid < 64) {
        const int q = q0 + tid;
        const bool in = q < T;
        const long long tq = tok0 + (in ? q : 0);
        cp_async4(sLse + tid, LSE + tq * H + h, in);
        cp_async4(sDelta + tid, delta + tq * H + h, in);
        cp_async4(sDoc + tid, docs ? (const void*)(docs + tq) : (const void*)LSE, in && docs);
    }
}

/**
 * Whether keys [wk0, wk0 + 16) all see queries [qs, qs + rows) of one 64-query block starting at q0: the
 * queries are at or after the last key, within the window of the first, and both blocks are one
 * document with no padding (block_doc).
 */
__device__ __forceinline__ bool keys_see_queries(const int* blockDoc, int T, int window, int b, int k0, int wk0, int q0, int qs, int rows) {
    const int kd = block_doc(blockDoc, T, b, k0 / 64), qd = block_doc(blockDoc, T, b, q0 / 64);
    return qs >= wk0 + 15 && (window <= 0 || qs + rows - 1 - wk0 < window) && kd >= 0 && qd == kd;
}

/**
 * out (16×8·NC) = dS[queries qRow0 .. +16, keys 0 .. 64] · B[0 .. 64, c0 .. c0 + 8·NC], with dS held
 * key-major (dsT[key][query], DS_LD) and B a row-major tile. ldmatrix.trans of the key-major 8×8 blocks
 * gives each lane exactly the A fragment (query = lane/4, keys 2·(lane%4) + {0, 1}). NC even.
 */
template <int NC>
__device__ __forceinline__ void mma_ds_b(float (&out)[NC][4], const u16* dsT, int qRow0, const u16* B, int c0, int lane) {
    #pragma unroll
    for (int nb = 0; nb < NC; nb++)
        #pragma unroll
        for (int e = 0; e < 4; e++) out[nb][e] = 0.f;
    const int mat = lane >> 3;
    #pragma unroll
    for (int kb = 0; kb < 4; kb++) {
        u32 a0, a1, a2, a3;
        ldsm_x4_t(smem_addr(dsT + (kb * 16 + (lane & 7) + (mat >> 1) * 8) * DS_LD + qRow0 + (mat & 1) * 8), a0, a1, a2, a3);
        #pragma unroll
        for (int nb = 0; nb < NC; nb += 2) {
            u32 b0, b1, b2, b3;
            ldsm_x4_t(smem_addr(B + (kb * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + c0 + nb * 8 + (lane >> 4) * 8), b0, b1, b2, b3);
            mma_bf16(out[nb], a0, a1, a2, a3, b0, b1);
            mma_bf16(out[nb + 1], a0, a1, a2, a3, b2, b3);
        }
    }
}

/**
 * dQ rows [qRow0, qRow0 + 16) of the tile at q0, columns [cBegin, cBegin + 8·NC·passes), from dSᵀ and the
 * key tile, added into the f32 accumulator gdQ (row stride qW) NC columns-blocks per pass.
 */
template <int NC, int PASSES>
__device__ __forceinline__ void add_dq(float* gdQ, int qW, const u16* dsT, const u16* sK, int q0, int qRow0, int cBegin, int T, int lane) {
    int row[2];
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) row[hh] = q0 + qRow0 + (lane >> 2) + hh * 8;
    #pragma unroll
    for (int p = 0; p < PASSES; p++) {
        const int c0 = cBegin + p * 8 * NC;
        float dq[NC][4];
        mma_ds_b<NC>(dq, dsT, qRow0, sK, c0, lane);
        #pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            if (row[hh] >= T) continue;
            float* out = gdQ + (long long)row[hh] * qW + c0 + (lane & 3) * 2;
            #pragma unroll
            for (int nb = 0; nb < NC; nb++) red_add2(out + nb * 8, dq[nb][hh * 2], dq[nb][hh * 2 + 1]);
        }
    }
}
