// attention_fwd_wgmma.cu: the attention forward on Hopper's warpgroup tensor cores (sm_90a), bf16, head size
// HD = 64, 128 or 256, with the contract of attention_mma.cu's forward (causal, window, softcap, GQA, packed
// documents, padding; lse saved). The mma.sync kernels are latency-bound (Nsight Compute on the H200: 40% of
// the SM's compute, 6 cycles per issued instruction per warp at 4 warps per scheduler): every operand goes
// through registers by ldmatrix and each warp's chain of small products waits on itself. Here the tensor
// cores read Q, K and Vᵀ straight from shared memory, 64 rows × 64 keys per instruction sequence:
//
//   CTA = 128 queries of one head, two warpgroups of 64 rows; per 64-key tile:
//     S = Q·Kᵀ          wgmma m64n64k16, A = Q, B = K (shared, K-major, 128-byte swizzle), HD/16 steps
//     mask, scale, softcap, online softmax on S in registers (the accumulator layout is mma.sync's
//     m16n8 layout per warp, so the per-element code is attention_mma.cu's)
//     O += P·V          wgmma m64nHDk16, A = P (registers, bf16), B = Vᵀ (shared, K-major over keys)
//   V arrives row-major (keys × HD) by cp.async and is transposed once per tile by ldmatrix.trans into Vᵀ
//   (a K-major operand needs the reduced dimension contiguous); Q and K are written by cp.async straight
//   into the swizzled layout (16-byte chunk c of row r at c ^ (r % 8)) that the descriptors describe.
//
//   shared (1024-aligned): Q [HD/64][128][64] | K [2][HD/64][64][64] | Vᵀ [HD][64] | V [VSTAGES][64][HD + 8]
//   | doc, ok [2][64]: 60,416 bytes at HD 64 (two CTAs per SM), 198,656 at HD 256 (one; V single-buffered)
//   Tile t+1 loads while tile t is computed; two barriers per tile (after the loads, after the transpose).
#include "attention_mma.cuh"
#include "attention_wgmma.cuh"

#if HD != 64 && HD != 128 && HD != 256
#error "the wgmma forward is built for head sizes 64, 128 and 256"
#endif

#define VSTAGES (HD <= 128 ? 2 : 1)
#define SLICES (HD / 64)
#define Q_BYTES (128 * HD * 2)
#define K_BYTES (64 * HD * 2)
#define VT_BYTES (HD * 128)
#define V_BYTES (TILE * 2)
#define SMEM_BYTES (Q_BYTES + 2 * K_BYTES + VT_BYTES + VSTAGES * V_BYTES + 4 * 64 * 4)

#if defined(CCE_HAS_WGMMA)

/**
 * Rows [r0, r0 + ROWS) of a token-major matrix (row stride `stride`) into the swizzled K-major layout at
 * dst: HD/64 slices of ROWS rows × 128 bytes, chunk c of row r at c ^ (r % 8); rows ≥ valid are zeros.
 */
template <int ROWS>
__device__ __forceinline__ void load_swizzled(u32 dst, const u16* g, int stride, int r0, int valid, int tid) {
    constexpr int CH = HD / 8;
    #pragma unroll 4
    for (int idx = tid; idx < ROWS * CH; idx += 256) {
        const int r = idx / CH, c = idx - r * CH;
        const bool ok = r < valid;
        const u32 at = dst + (c >> 3) * (ROWS * 128) + r * 128 + (((c & 7) ^ (r & 7)) << 4);
        cp_async16(at, ok ? (const void*)(g + (long long)(r0 + r) * stride + c * 8) : (const void*)g, ok);
    }
}

/** Vᵀ (HD rows × 64 keys, swizzled K-major) from the row-major V tile, by ldmatrix.trans of 8×8 blocks. */
__device__ __forceinline__ void transpose_v(u32 vt, const u16* v, int warp, int lane) {
    constexpr int CALLS = (8 * (HD / 8)) / 4; // 8×8 blocks (8 of keys × HD/8 of columns), four per ldmatrix
    #pragma unroll
    for (int i = warp; i < CALLS; i += 8) {
        const int mine = 4 * i + (lane >> 3); // the block this lane gives a row address of
        u32 r[4];
        ldsm_x4_t(smem_addr(v + ((mine & 7) * 8 + (lane & 7)) * LDS + (mine >> 3) * 8), r[0], r[1], r[2], r[3]);
        #pragma unroll
        for (int j = 0; j < 4; j++) {
            // block 4i + j: this lane holds keys 8·kb + 2(l%4) + {0, 1} of column n = 8·nb + l/4
            const int blk = 4 * i + j, kb = blk & 7, n = (blk >> 3) * 8 + (lane >> 2);
            asm volatile("st.shared.u32 [%0], %1;" :: "r"(vt + n * 128 + ((kb ^ (n & 7)) << 4) + (lane & 3) * 4), "r"(r[j]) : "memory");
        }
    }
}

/** Keeps the compiler from reading wgmma outputs before the wait that completes them. */
template <int N>
__device__ __forceinline__ void fence_regs(float* d) {
    #pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i]) :: "memory");
}

__device__ __forceinline__ void wgmma_pv(float* o, u32 a0, u32 a1, u32 a2, u32 a3, u64 desc) {
#if HD == 64
    wgmma_rs_m64n64k16(o, a0, a1, a2, a3, desc, 1);
#elif HD == 128
    wgmma_rs_m64n128k16(o, a0, a1, a2, a3, desc, 1);
#else
    wgmma_rs_m64n256k16(o, a0, a1, a2, a3, desc, 1);
#endif
}

#endif // CCE_HAS_WGMMA

extern "C" __global__ void __launch_bounds__(256, HD <= 64 ? 2 : 1) attn_fwd_wgmma(
        const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V, u16* __restrict__ O,
        float* __restrict__ LSE, int T, int H, int KVH, float scale, float cap, int window,
        const int* docs, const int* kvLo, const int* qHi, const unsigned char* keyMask, const int* blockDoc) {
#if defined(CCE_HAS_WGMMA)
    const u32 base = (smem_addr(smem) + 1023) & ~1023u; // the host asks for 1,024 bytes more
    unsigned char* gbase = smem + (base - smem_addr(smem));
    const u32 sQ = base, sK = sQ + Q_BYTES, sVt = sK + 2 * K_BYTES;
    u16* sV = (u16*)(gbase + Q_BYTES + 2 * K_BYTES + VT_BYTES);
    int* sDoc = (int*)(gbase + Q_BYTES + 2 * K_BYTES + VT_BYTES + VSTAGES * V_BYTES);
    int* sOk = sDoc + 2 * 64;
    __shared__ int sLo;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, wg = warp >> 2;
    const int h = blockIdx.y % H, b = blockIdx.y / H;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * 128; // the longest rows first
    const int kvh = h / (H / KVH), qW = H * HD, kvW = KVH * HD;
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const u16* gK = K + tok0 * kvW + kvh * HD;
    const u16* gV = V + tok0 * kvW + kvh * HD;
    const float invCap = cap > 0.f ? 1.f / cap : 0.f;

    load_swizzled<128>(sQ, Q + tok0 * qW + h * HD, qW, q0, T - q0, tid); // committed with the first K/V tile
    const int kBegin = block_key_lo(m, tok0, q0, &sLo, tid, 128) / 64 * 64, kEnd = min(T, q0 + 128);
    const int n = (kEnd - kBegin + 63) / 64;
    const int wr0 = q0 + wg * 64 + (warp & 3) * 16; // the warp's first row

    int row[2], rowDoc[2];
    #pragma unroll
    for (int hh = 0; hh < 2; hh++) {
        row[hh] = wr0 + (lane >> 2) + hh * 8;
        rowDoc[hh] = (docs && row[hh] < T) ? docs[tok0 + row[hh]] : 0;
    }
    float o[NB][4];
    zero(o);
    float mRow[2] = {CCE_NEG_INF, CCE_NEG_INF}, lRow[2] = {0.f, 0.f};

    auto issue = [&](int t) {
        const int k0 = kBegin + t * 64;
        load_swizzled<64>(sK + (t & 1) * K_BYTES, gK, kvW, k0, T - k0, tid);
        load_tile<256>(sV + (t % VSTAGES) * TILE, gV, kvW, k0, T - k0, tid);
        key_info(m, tok0, k0, sDoc + (t & 1) * 64, sOk + (t & 1) * 64, tid);
    };
    auto compute = [&](int t) {
        // a warpgroup computes every tile, also one it cannot see (the diagonal tile of the first): its scores
        // are all masked, P = 0 and O unchanged. A skip would put the wgmma in a branch, where the compiler
        // serializes them (ptxas C7520).
        const int k0 = kBegin + t * 64, buf = t & 1;
        const int* kDoc = sDoc + buf * 64;
        const int* kOk = sOk + buf * 64;
        float s[8][4];
        wgmma_fence();
        #pragma unroll
        for (int sl = 0; sl < SLICES; sl++) {
            #pragma unroll
            for (int kk = 0; kk < 4; kk++) {
                wgmma_ss_m64n64k16(&s[0][0], smem_desc(sQ + sl * (128 * 128) + wg * (64 * 128) + kk * 32),
                                   smem_desc(sK + buf * K_BYTES + sl * (64 * 128) + kk * 32), sl | kk);
            }
        }
        wgmma_commit();
        wgmma_wait0();
        fence_regs<32>(&s[0][0]);
        // the mask by selects, not branches: a branch here (the 16-row fast path of attention_mma.cu) would put
        // the registers P is packed from on divergent paths, and ptxas would serialize the wgmma (C7520)
        float tileMax[2] = {CCE_NEG_INF, CCE_NEG_INF};
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            #pragma unroll
            for (int e = 0; e < 4; e++) {
                const int hh = e >> 1, kc = j * 8 + (lane & 3) * 2 + (e & 1), col = k0 + kc, r = row[hh];
                float fac;
                const float x = tile_score(s[j][e], scale, cap, invCap, &fac);
                const bool vis = (kOk[kc] != 0) & attn_causal_window(r, col, T, window) & (!docs | (kDoc[kc] == rowDoc[hh]));
                s[j][e] = vis ? x : CCE_NEG_INF;
                tileMax[hh] = fmax_(tileMax[hh], s[j][e]);
            }
        }
        online_softmax(s, tileMax, mRow, lRow, o);
        u32 pa[4][4]; // P as the A fragments of the four 16-key steps, all packed before the fence
        #pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            pa[kk][0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
            pa[kk][1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
            pa[kk][2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pa[kk][3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
        }
        wgmma_fence();
        #pragma unroll
        for (int kk = 0; kk < 4; kk++) wgmma_pv(&o[0][0], pa[kk][0], pa[kk][1], pa[kk][2], pa[kk][3], smem_desc(sVt + kk * 32));
        wgmma_commit();
        wgmma_wait0(); // Vᵀ is rewritten for the next tile once every warpgroup is past this
        fence_regs<NB * 4>(&o[0][0]);
    };

    issue(0);
    cp_async_commit();
    for (int t = 0; t < n; t++) {
        cp_async_wait_all();
        fence_async_smem(); // Q and K, written by cp.async, are read by wgmma
        __syncthreads();    // tile t is complete; every warpgroup is done with tile t − 1 (K, V, Vᵀ)
        transpose_v(sVt, sV + (t % VSTAGES) * TILE, warp, lane);
        if (VSTAGES == 2 && t + 1 < n) issue(t + 1);
        cp_async_commit();
        fence_async_smem(); // Vᵀ, written by st.shared, is read by wgmma
        __syncthreads();
        if (VSTAGES == 1 && t + 1 < n) {
            issue(t + 1); // V's one buffer is free once transposed
            cp_async_commit();
        }
        compute(t);
    }
    cp_async_wait_all();

    finish_rows(O, LSE, tok0, H, h, row, mRow, lRow, o, T, lane);
#endif
}
