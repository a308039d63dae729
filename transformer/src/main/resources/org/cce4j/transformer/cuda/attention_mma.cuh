// attention_mma.cuh: the tile pieces the tensor-core attention kernels share (attention_mma.cu: the
// forward and the split backward; attention_bwd_fused.cu: the fused backward): 64-row bf16 tiles in
// shared memory, the 16×64 warp products on them, the score transform, the 'tile wholly visible' test
// and the double-buffered loop over streamed tiles. One module per head size HD (a multiple of 16).
//
//   shared memory: tiles [64][HD + 8] bf16 (rows padded by 16 bytes, so the 8 rows one ldmatrix reads
//   fall in distinct banks), loaded by cp.async with zero fill past the sequence's end.
#pragma once
#include "attention_common.cuh"
#include "mma_sync.cuh"

#ifndef HD
#define HD 64
#endif
#define LDS (HD + 8)
#define TILE (64 * LDS)
#define NB (HD / 8)
// buffers of the streamed tiles: a module may ask for others (CCE4J_ATTN_STAGES up to HD 128; two above for
// attention_bwd_fused_wide.cu and the 8-warp forward, one CTA per SM)
#ifndef STAGES
#define STAGES (HD <= 128 ? 2 : 1)
#endif
#if STAGES < 1 || STAGES > 4
#error "STAGES must be 1 to 4"
#endif

/**
 * The document of 64-token block blk of sequence b when all of its tokens exist, are not padding and
 * share one document (0 without documents), else −1; with neither documents nor padding every block
 * that ends inside the sequence qualifies.
 */
__device__ __forceinline__ int block_doc(const int* blockDoc, int T, int b, int blk) {
    if (blk * 64 + 64 > T) return -1;
    return blockDoc ? blockDoc[b * ((T + 63) / 64) + blk] : 0;
}

/**
 * Whether every query of a warp's rows [r0, r0 + 16) sees every key of [k0, k0 + 64): the keys end at or
 * before the first row, the last row is within the window of the first key, the rows exist, and the key
 * block is one document that is also each row's. Uniform across the warp (__all_sync).
 */
__device__ __forceinline__ bool rows_see_tile(const int* docs, const int* blockDoc, int T, int window, int b, int r0, int k0,
                                              const int (&rowDoc)[2]) {
    if (!(k0 + 63 <= r0 && r0 + 16 <= T && (window <= 0 || r0 + 15 - k0 < window))) return false;
    const int bd = block_doc(blockDoc, T, b, k0 / 64);
    if (bd < 0) return false;
    return !docs || __all_sync(0xffffffffu, rowDoc[0] == bd && rowDoc[1] == bd);
}

/**
 * rows_see_tile for part of a tile: whether every query of rows [r0, r0 + 16) sees every key of
 * [k0, k0 + n), keys that lie inside one 64-token block (whose document, as there, decides).
 */
__device__ __forceinline__ bool rows_see_keys(const int* docs, const int* blockDoc, int T, int window, int b, int r0, int k0, int n,
                                              const int (&rowDoc)[2]) {
    if (!(k0 + n - 1 <= r0 && r0 + 16 <= T && (window <= 0 || r0 + 15 - k0 < window))) return false;
    const int bd = block_doc(blockDoc, T, b, k0 / 64);
    if (bd < 0) return false;
    return !docs || __all_sync(0xffffffffu, rowDoc[0] == bd && rowDoc[1] == bd);
}

#if HD % 16 != 0 || HD > 256
#error "HD must be a multiple of 16, at most 256"
#endif

extern __shared__ __align__(16) unsigned char smem[];

/** 4 bytes global → shared, asynchronously (with the tiles' cp.async group); zero-filled when !valid. */
__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" :: "r"(smem_addr(dst)), "l"(src), "r"(valid ? 4 : 0) : "memory");
}

/**
 * Rows [r0, r0 + 64) of a token-major matrix (row stride `stride`, from g) into s; rows ≥ valid are zeros.
 * NT: the CTA's threads, all of which take part.
 */
template <int NT = 128>
__device__ __forceinline__ void load_tile(u16* s, const u16* g, int stride, int r0, int valid, int tid) {
    constexpr int CH = HD / 8;
    #pragma unroll 4
    for (int idx = tid; idx < 64 * CH; idx += NT) {
        const int r = idx / CH, c = idx - r * CH;
        const bool ok = r < valid;
        cp_async16(smem_addr(s + r * LDS + c * 8), ok ? (const void*)(g + (long long)(r0 + r) * stride + c * 8) : (const void*)g, ok);
    }
}

/**
 * acc (16×8·NJ) = A[aRow0 .. +16, :HD] · B[bRow0 .. bRow0 + 8·NJ, :HD]ᵀ, both row-major tiles in shared memory
 * (NJ even; 8: a whole 64-row tile).
 */
template <int NJ>
__device__ __forceinline__ void mma_abt(float (&acc)[NJ][4], const u16* A, int aRow0, const u16* B, int lane, int bRow0 = 0) {
    #pragma unroll
    for (int j = 0; j < NJ; j++)
        #pragma unroll
        for (int e = 0; e < 4; e++) acc[j][e] = 0.f;
    #pragma unroll
    for (int kk = 0; kk < HD; kk += 16) {
        u32 a0, a1, a2, a3;
        ldsm_x4(smem_addr(A + (aRow0 + (lane & 15)) * LDS + kk + (lane >> 4) * 8), a0, a1, a2, a3);
        #pragma unroll
        for (int j = 0; j < NJ; j += 2) {
            u32 b0, b1, b2, b3;
            ldsm_x4(smem_addr(B + (bRow0 + j * 8 + (lane & 7) + (lane >> 4) * 8) * LDS + kk + ((lane >> 3) & 1) * 8), b0, b1, b2, b3);
            mma_bf16(acc[j], a0, a1, a2, a3, b0, b1);
            mma_bf16(acc[j + 1], a0, a1, a2, a3, b2, b3);
        }
    }
}

/** out (16×HD) += P (16×64, accumulator layout, rounded to bf16) · B[0 .. 64, :HD] (row-major tile). */
__device__ __forceinline__ void mma_pb(float (&out)[NB][4], const float (&p)[8][4], const u16* B, int lane) {
    #pragma unroll
    for (int kb = 0; kb < 4; kb++) {
        const u32 a0 = pack_bf16(p[2 * kb][0], p[2 * kb][1]), a1 = pack_bf16(p[2 * kb][2], p[2 * kb][3]);
        const u32 a2 = pack_bf16(p[2 * kb + 1][0], p[2 * kb + 1][1]), a3 = pack_bf16(p[2 * kb + 1][2], p[2 * kb + 1][3]);
        #pragma unroll
        for (int nb = 0; nb < NB; nb += 2) {
            u32 b0, b1, b2, b3;
            ldsm_x4_t(smem_addr(B + (kb * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LDS + nb * 8 + (lane >> 4) * 8), b0, b1, b2, b3);
            mma_bf16(out[nb], a0, a1, a2, a3, b0, b1);
            mma_bf16(out[nb + 1], a0, a1, a2, a3, b2, b3);
        }
    }
}

// The two-block products of attention_fwd_pair.cu (a warp owning 32 rows: two 16-row blocks that share
// every K and V fragment).

/**
 * acc[i] (16 × 8·NJ) = A[aRow0 + 16·i .. +16, :HD] · B[0 .. 8·NJ, :HD]ᵀ for the two row blocks i = 0, 1 of
 * a warp's 32 rows: each B fragment is loaded from shared memory once and feeds both blocks' mma. A and
 * B are shared-memory addresses (smem_addr) of row-major tiles, B at the first key wanted: 32-bit
 * arithmetic, the fragments' offsets constants of the ldmatrix, so that no 64-bit address stays live
 * across the kernel's loop.
 */
template <int NJ>
__device__ __forceinline__ void mma_abt2(float (&acc)[2][NJ][4], u32 A, int aRow0, u32 B, int lane) {
    static_assert(NJ % 2 == 0, "key columns in pairs of 8");
    const u32 aLane = A + ((aRow0 + (lane & 15)) * LDS + (lane >> 4) * 8) * 2;
    const u32 bLane = B + (((lane & 7) + (lane >> 4) * 8) * LDS + ((lane >> 3) & 1) * 8) * 2;
    #pragma unroll
    for (int i = 0; i < 2; i++)
        #pragma unroll
        for (int j = 0; j < NJ; j++)
            #pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;
    #pragma unroll
    for (int kk = 0; kk < HD; kk += 16) {
        u32 a[2][4];
        #pragma unroll
        for (int i = 0; i < 2; i++) ldsm_x4(aLane + (i * 16 * LDS + kk) * 2, a[i][0], a[i][1], a[i][2], a[i][3]);
        #pragma unroll
        for (int j = 0; j < NJ; j += 2) {
            u32 b0, b1, b2, b3;
            ldsm_x4(bLane + (j * 8 * LDS + kk) * 2, b0, b1, b2, b3);
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                mma_bf16(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b0, b1);
                mma_bf16(acc[i][j + 1], a[i][0], a[i][1], a[i][2], a[i][3], b2, b3);
            }
        }
    }
}

/**
 * A 16 × 8·NJ accumulator tile rounded to bf16 as the A fragments of its 16×16 blocks (a[kb] covers
 * columns 16·kb .. +16): the operand of P·V in half the registers of the floats.
 */
template <int NJ>
__device__ __forceinline__ void pack_a(u32 (&a)[NJ / 2][4], const float (&p)[NJ][4]) {
    #pragma unroll
    for (int kb = 0; kb < NJ / 2; kb++) {
        a[kb][0] = pack_bf16(p[2 * kb][0], p[2 * kb][1]);
        a[kb][1] = pack_bf16(p[2 * kb][2], p[2 * kb][3]);
        a[kb][2] = pack_bf16(p[2 * kb + 1][0], p[2 * kb + 1][1]);
        a[kb][3] = pack_bf16(p[2 * kb + 1][2], p[2 * kb + 1][3]);
    }
}

/**
 * out[i] (16×HD) += P[i] (16 × 16·NKB, packed by pack_a) · B[0 .. 16·NKB, :HD] for two row blocks
 * i = 0, 1: each B fragment is loaded once and feeds both. B: the shared-memory address of a row-major
 * tile at its first key wanted.
 */
template <int NKB>
__device__ __forceinline__ void mma_pb2(float (&out)[2][NB][4], const u32 (&p)[2][NKB][4], u32 B, int lane) {
    const u32 bLane = B + (((lane & 7) + ((lane >> 3) & 1) * 8) * LDS + (lane >> 4) * 8) * 2;
    #pragma unroll
    for (int kb = 0; kb < NKB; kb++) {
        #pragma unroll
        for (int nb = 0; nb < NB; nb += 2) {
            u32 b0, b1, b2, b3;
            ldsm_x4_t(bLane + (kb * 16 * LDS + nb * 8) * 2, b0, b1, b2, b3);
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                mma_bf16(out[i][nb], p[i][kb][0], p[i][kb][1], p[i][kb][2], p[i][kb][3], b0, b1);
                mma_bf16(out[i][nb + 1], p[i][kb][0], p[i][kb][1], p[i][kb][2], p[i][kb][3], b2, b3);
            }
        }
    }
}

/** The score of element (row, col) of a tile and, in fac, d score / d (q·k). */
__device__ __forceinline__ float tile_score(float acc, float scale, float cap, float invCap, float* fac) {
    float x = acc * scale;
    float f = scale;
    if (cap > 0.f) {
        const float t = tanh_fast(x * invCap);
        x = cap * t;
        f = scale * (1.f - t * t);
    }
    *fac = f;
    return x;
}

/** Writes rows of a 16×HD accumulator (times the row's factor) as bf16 into a token-major matrix. */
__device__ __forceinline__ void store_rows(u16* g, int stride, const int (&row)[2], const float (&mul)[2], const float (&acc)[NB][4],
                                           int T, int lane) {
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        if (row[hh] >= T) continue;
        u16* out = g + (long long)row[hh] * stride;
        #pragma unroll
        for (int nb = 0; nb < NB; nb++) {
            *(u32*)(out + nb * 8 + (lane & 3) * 2) = pack_bf16(acc[nb][hh * 2] * mul[hh], acc[nb][hh * 2 + 1] * mul[hh]);
        }
    }
}

__device__ __forceinline__ void zero(float (&acc)[NB][4]) {
    #pragma unroll
    for (int nb = 0; nb < NB; nb++)
        #pragma unroll
        for (int e = 0; e < 4; e++) acc[nb][e] = 0.f;
}

/**
 * One online-softmax step of the forward over a tile of scores s (16 rows × 64 keys per warp, accumulator
 * layout, masked entries −inf; tileMax: each lane's row maxima over its entries): the running maxima m and
 * sums l of the lane's two rows move on, s becomes P = exp(s − m), and the output accumulator o is rescaled
 * by the step's correction.
 */
__device__ __forceinline__ void online_softmax(float (&s)[8][4], const float (&tileMax)[2], float (&mRow)[2], float (&lRow)[2],
                                               float (&o)[NB][4]) {
    float corr[2], mUse[2], rowSum[2] = {0.f, 0.f};
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        float tm = tileMax[hh];
        tm = fmax_(tm, __shfl_xor_sync(0xffffffffu, tm, 1));
        tm = fmax_(tm, __shfl_xor_sync(0xffffffffu, tm, 2));
        const float mNew = fmax_(mRow[hh], tm);
        corr[hh] = mNew == CCE_NEG_INF ? 1.f : ex2_approx((mRow[hh] - mNew) * CCE_LOG2E);
        mUse[hh] = mNew == CCE_NEG_INF ? 0.f : mNew;
        mRow[hh] = mNew;
    }
    #pragma unroll
    for (int j = 0; j < 8; j++) {
        #pragma unroll
        for (int e = 0; e < 4; e++) {
            const float p = ex2_approx((s[j][e] - mUse[e >> 1]) * CCE_LOG2E);
            s[j][e] = p;
            rowSum[e >> 1] += p;
        }
    }
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) lRow[hh] = lRow[hh] * corr[hh] + rowSum[hh];
    #pragma unroll
    for (int nb = 0; nb < NB; nb++) {
        #pragma unroll
        for (int e = 0; e < 4; e++) o[nb][e] *= corr[e >> 1];
    }
}

/**
 * The forward's end for a lane's two rows: lse = m + log l (−inf for a row that saw no key) into LSE, and the
 * rows of o divided by l into O.
 */
__device__ __forceinline__ void finish_rows(u16* O, float* LSE, long long tok0, int H, int h, const int (&row)[2], const float (&mRow)[2],
                                            const float (&lRow)[2], const float (&o)[NB][4], int T, int lane) {
    float inv[2];
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        float l = lRow[hh];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        inv[hh] = l > 0.f ? 1.f / l : 0.f;
        if ((lane & 3) == 0 && row[hh] < T) LSE[(tok0 + row[hh]) * H + h] = l > 0.f ? mRow[hh] + logf(l) : CCE_NEG_INF;
    }
    store_rows(O + tok0 * (H * HD) + h * HD, H * HD, row, inv, o, T, lane);
}

/** Key-tile metadata of keys [k0, k0 + 64): document and whether it may be attended to at all. */
__device__ __forceinline__ void key_info(const AttnMask& m, long long tok0, int k0, int* sDoc, int* sOk, int tid) {
    if (tid < 64) {
        const int j = k0 + tid;
        sDoc[tid] = (m.docs && j < m.T) ? m.docs[tok0 + j] : 0;
        sOk[tid] = j < m.T && (!m.keyMask || m.keyMask[tok0 + j]);
    }
}

/** The smallest first visible key over queries [q0, q0 + rows), through shared memory (rows ≤ the CTA's threads). */
__device__ __forceinline__ int block_key_lo(const AttnMask& m, long long tok0, int q0, int* sLo, int tid, int rows = 64) {
    if (tid == 0) *sLo = q0;
    __syncthreads();
    if (tid < rows && q0 + tid < m.T) atomicMin(sLo, attn_key_lo(m, tok0, q0 + tid));
    __syncthreads();
    return *sLo;
}

/** Waits until at most N of this thread's cp.async groups are still in flight. */
template <int N>
__device__ __forceinline__ void cp_async_wait_n() {
    asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory");
}

/**
 * The pipelined loop over n streamed tiles: issue(t, buf) starts tile t's cp.async loads (and writes its
 * metadata) into buffer buf, compute(t, buf) uses it. With STAGES buffers, tiles t+1 .. t+STAGES−1 load
 * while tile t is computed: one barrier per tile, after which tile t is visible to every warp and every
 * warp is done with tile t−1, whose buffer the next load then takes. With one buffer, load and compute
 * alternate.
 */
template <typename Issue, typename Compute>
__device__ __forceinline__ void pipeline(int n, Issue issue, Compute compute) {
#if STAGES == 1
    issue(0, 0);
    cp_async_commit();
    for (int t = 0; t < n; t++) {
        cp_async_wait_all();
        __syncthreads();
        compute(t, 0);
        __syncthreads(); // every warp is done with the buffer before it is loaded again
        if (t + 1 < n) {
            issue(t + 1, 0);
            cp_async_commit();
        }
    }
#else
    #pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < n) issue(s, s);
        cp_async_commit(); // empty groups keep the count: tile t is group t
    }
    for (int t = 0; t < n; t++) {
        cp_async_wait_n<STAGES - 2>();
        __syncthreads();
        if (t + STAGES - 1 < n) issue(t + STAGES - 1, (t + STAGES - 1) % STAGES);
        cp_async_commit();
        compute(t, t % STAGES);
    }
#endif
    cp_async_wait_all();
}
