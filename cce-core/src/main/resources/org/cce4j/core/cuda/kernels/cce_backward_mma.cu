// cce_backward_mma.cu: the CCE backward tile on tensor cores (mma.sync m16n8k16, sm_80 and later),
// for bf16/f16 inputs with D % 8 == 0. One CTA = one 64×256 skip tile, 8 warps:
//
//   1. Z[64×256] = E·Cᵀ: k-slices of 32 through a 2-stage cp.async ring; warps 2 (rows) × 4 (cols),
//      32×64 each, ldmatrix fragments, f32 accumulators
//   2. g = (p·(1+2λ·lse) − α/V)·s·softcap' / gScale → G[64×256] in shared memory in the input type
//      (scaled into range for f16), Σ_rows g → dBias
//   3. dE[64×D] += G·C, 64 columns at a time: warps 2 × 4, 32×16 each, B by ldmatrix.trans
//   4. dC[256×D] += Gᵀ·E, 64 columns at a time: warps 8 × 1, 32×64 each, A = Gᵀ by ldmatrix.trans
//   outputs are added with f32 atomics (the tiles of other CTAs touch the same rows and entries), two
//   neighbouring values per instruction on sm_90 (red.global.add.v2.f32) when dE and dC are 8-byte aligned
//
//   shared: G [64][264] | staging (phase 1: 2 × (E [64][40] + C [256][40]); phase 3: C [256][72];
//           phase 4: E [64][72]), row strides padded by 16 bytes so ldmatrix rows hit distinct banks
#include "cce_common.cuh"

#define MB_GS 264
#define MB_KS 40
#define MB_CS 72
#define MB_G_BYTES (64 * MB_GS * 2)
#define MB_SMEM (MB_G_BYTES + 2 * (64 + 256) * MB_KS * 2)

#if CCE_ELEM != 0

#include "mma_sync.cuh"

__device__ __forceinline__ void mma16816(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
#if CCE_ELEM == 2
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
#else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
#endif
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

/** dst[0..1] += (a, b): one vector reduction on sm_90 when {@code pair} (8-byte aligned), else two atomics. */
__device__ __forceinline__ void add_pair(float* dst, float a, float b, bool pair) {
#if __CUDA_ARCH__ >= 900
    if (pair) {
        asm volatile("red.global.add.v2.f32 [%0], {%1, %2};" :: "l"(dst), "f"(a), "f"(b) : "memory");
        return;
    }
#endif
    if (a != 0.f) atomicAdd(dst, a);
    if (b != 0.f) atomicAdd(dst + 1, b);
}

#endif // CCE_ELEM != 0

extern "C" __global__ void __launch_bounds__(256) cce_backward_mma(
        const elem_t* __restrict__ E, const elem_t* __restrict__ C, const float* __restrict__ bias,
        const float* __restrict__ lse, const float* __restrict__ scale, int N, int V, int D, float softcap,
        float zLoss, float alphaOverV, float invGScale, float gScale, const int* __restrict__ tiles, int VT,
        float* __restrict__ dE, float* __restrict__ dC, float* __restrict__ dBias, int pairs) {
#if CCE_ELEM != 0
    extern __shared__ __align__(16) unsigned char smem[];
    u16* G = (u16*)smem;
    u16* stage = (u16*)(smem + MB_G_BYTES);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int tile = tiles ? tiles[blockIdx.x] : blockIdx.x;
    const int r0 = (tile / VT) * 64, v0 = (tile % VT) * 256;
    const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;

    // ---- 1. Z = E·Cᵀ -------------------------------------------------------------------------
    const int wm = warp >> 2, wn = warp & 3; // 32 rows × 64 cols per warp
    float acc[2][8][4];
    #pragma unroll
    for (int i = 0; i < 2; i++)
        #pragma unroll
        for (int j = 0; j < 8; j++)
            #pragma unroll
            for (int q = 0; q < 4; q++) acc[i][j][q] = 0.f;
    const int KS = (D + 31) / 32;
    auto loadSlice = [&](int ks, int buf) {
        u16* es = stage + buf * (64 + 256) * MB_KS;
        u16* cs = es + 64 * MB_KS;
        const int k0 = ks * 32;
        {   // E: 64 rows × 4 chunks of 8
            const int r = tid >> 2, ch = tid & 3, row = r0 + r, k = k0 + ch * 8;
            const bool ok = row < N && k < D;
            cp_async16(smem_addr(es + r * MB_KS + ch * 8), ok ? (const void*)(E + (size_t)row * D + k) : (const void*)E, ok);
        }
        #pragma unroll
        for (int q = 0; q < 4; q++) { // C: 256 rows × 4 chunks
            const int idx = q * 256 + tid, r = idx >> 2, ch = idx & 3, col = v0 + r, k = k0 + ch * 8;
            const bool ok = col < V && k < D;
            cp_async16(smem_addr(cs + r * MB_KS + ch * 8), ok ? (const void*)(C + (size_t)col * D + k) : (const void*)C, ok);
        }
        cp_async_commit();
    };
    loadSlice(0, 0);
    for (int ks = 0; ks < KS; ks++) {
        if (ks + 1 < KS) {
            loadSlice(ks + 1, (ks + 1) & 1);
            cp_async_wait_one();
        } else {
            cp_async_wait_all();
        }
        __syncthreads();
        const u16* es = stage + (ks & 1) * (64 + 256) * MB_KS;
        const u16* cs = es + 64 * MB_KS;
        #pragma unroll
        for (int kk = 0; kk < 32; kk += 16) {
            u32 a[2][4];
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                const int row = wm * 32 + i * 16 + (lane & 15), col = kk + (lane >> 4) * 8;
                ldsm_x4(smem_addr(es + row * MB_KS + col), a[i][0], a[i][1], a[i][2], a[i][3]);
            }
            #pragma unroll
            for (int j = 0; j < 8; j += 2) {
                const int n = wn * 64 + j * 8 + (lane & 7) + (lane >> 4) * 8, k = kk + ((lane >> 3) & 1) * 8;
                u32 b0, b1, b2, b3;
                ldsm_x4(smem_addr(cs + n * MB_KS + k), b0, b1, b2, b3);
                #pragma unroll
                for (int i = 0; i < 2; i++) {
                    mma16816(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b0, b1);
                    mma16816(acc[i][j + 1], a[i][0], a[i][1], a[i][2], a[i][3], b2, b3);
                }
            }
        }
        __syncthreads();
    }

    // ---- 2. g into shared memory (and Σ_rows g into dBias) ------------------------------------
    {
        float colSum[8][2];
        #pragma unroll
        for (int j = 0; j < 8; j++) { colSum[j][0] = 0.f; colSum[j][1] = 0.f; }
        #pragma unroll
        for (int i = 0; i < 2; i++) {
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                const int lrow = wm * 32 + i * 16 + (lane >> 2) + h * 8, row = r0 + lrow;
                const float s = row < N ? scale[row] : 0.f;
                const float l = row < N ? lse[row] : 0.f;
                const float mul = 1.f + 2.f * zLoss * l;
                #pragma unroll
                for (int j = 0; j < 8; j++) {
                    #pragma unroll
                    for (int c = 0; c < 2; c++) {
                        const int lcol = wn * 64 + j * 8 + (lane & 3) * 2 + c, col = v0 + lcol;
                        float g = 0.f;
                        if (s != 0.f && col < V) {
                            float x = acc[i][j][h * 2 + c];
                            if (bias) x += bias[col];
                            const float f = softcap_with_slope(x, invCap, softcap);
                            g = (__expf(x - l) * mul - alphaOverV) * s * f;
                        }
                        colSum[j][c] += g;
                        G[lrow * MB_GS + lcol] = f32_to_elem(g * invGScale);
                    }
                }
            }
        }
        if (dBias) {
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                #pragma unroll
                for (int c = 0; c < 2; c++) {
                    float v = colSum[j][c];
                    v += __shfl_xor_sync(0xffffffffu, v, 4);
                    v += __shfl_xor_sync(0xffffffffu, v, 8);
                    v += __shfl_xor_sync(0xffffffffu, v, 16);
                    const int col = v0 + wn * 64 + j * 8 + (lane & 3) * 2 + c;
                    if (lane < 4 && col < V && v != 0.f) atomicAdd(&dBias[col], v);
                }
            }
        }
    }
    __syncthreads();

    // ---- 3. dE[64×D] += G·C ---------------------------------------------------------------------
    if (dE) {
        u16* cs = stage; // [256][72]
        const int wm3 = warp >> 2, wn3 = warp & 3; // 32 rows × 16 cols per warp
        for (int d0 = 0; d0 < D; d0 += 64) {
            #pragma unroll
            for (int q = 0; q < 8; q++) {
                const int idx = q * 256 + tid, r = idx >> 3, ch = idx & 7, col = v0 + r, k = d0 + ch * 8;
                const bool ok = col < V && k < D;
                cp_async16(smem_addr(cs + r * MB_CS + ch * 8), ok ? (const void*)(C + (size_t)col * D + k) : (const void*)C, ok);
            }
            cp_async_commit();
            cp_async_wait_all();
            __syncthreads();
            float o[2][2][4];
            #pragma unroll
            for (int i = 0; i < 2; i++)
                #pragma unroll
                for (int j = 0; j < 2; j++)
                    #pragma unroll
                    for (int q = 0; q < 4; q++) o[i][j][q] = 0.f;
            #pragma unroll 4
            for (int kk = 0; kk < 256; kk += 16) {
                u32 a[2][4];
                #pragma unroll
                for (int i = 0; i < 2; i++) {
                    const int row = wm3 * 32 + i * 16 + (lane & 15), col = kk + (lane >> 4) * 8;
                    ldsm_x4(smem_addr(G + row * MB_GS + col), a[i][0], a[i][1], a[i][2], a[i][3]);
                }
                u32 b0, b1, b2, b3;
                {
                    const int k = kk + (lane & 7) + ((lane >> 3) & 1) * 8, n = wn3 * 16 + (lane >> 4) * 8;
                    ldsm_x4_t(smem_addr(cs + k * MB_CS + n), b0, b1, b2, b3);
                }
                #pragma unroll
                for (int i = 0; i < 2; i++) {
                    mma16816(o[i][0], a[i][0], a[i][1], a[i][2], a[i][3], b0, b1);
                    mma16816(o[i][1], a[i][0], a[i][1], a[i][2], a[i][3], b2, b3);
                }
            }
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                #pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int row = r0 + wm3 * 32 + i * 16 + (lane >> 2) + h * 8;
                    if (row >= N) continue;
                    #pragma unroll
                    for (int j = 0; j < 2; j++) {
                        const int k = d0 + wn3 * 16 + j * 8 + (lane & 3) * 2; // even; D % 8 == 0, so k + 1 < D too
                        const float v0 = o[i][j][h * 2], v1 = o[i][j][h * 2 + 1];
                        if (k < D && (v0 != 0.f || v1 != 0.f)) add_pair(&dE[(size_t)row * D + k], v0 * gScale, v1 * gScale, pairs);
                    }
                }
            }
            __syncthreads();
        }
    }

    // ---- 4. dC[256×D] += Gᵀ·E -------------------------------------------------------------------
    if (dC) {
        u16* es = stage; // [64][72]
        for (int d0 = 0; d0 < D; d0 += 64) {
            #pragma unroll
            for (int q = 0; q < 2; q++) {
                const int idx = q * 256 + tid, r = idx >> 3, ch = idx & 7, row = r0 + r, k = d0 + ch * 8;
                const bool ok = row < N && k < D;
                cp_async16(smem_addr(es + r * MB_CS + ch * 8), ok ? (const void*)(E + (size_t)row * D + k) : (const void*)E, ok);
            }
            cp_async_commit();
            cp_async_wait_all();
            __syncthreads();
            float o[2][8][4];
            #pragma unroll
            for (int i = 0; i < 2; i++)
                #pragma unroll
                for (int j = 0; j < 8; j++)
                    #pragma unroll
                    for (int q = 0; q < 4; q++) o[i][j][q] = 0.f;
            #pragma unroll
            for (int kk = 0; kk < 64; kk += 16) {
                u32 a[2][4];
                #pragma unroll
                for (int i = 0; i < 2; i++) {
                    // A = Gᵀ: rows m = vocab entries, k = tile rows; G is stored [k][m]
                    const int m = warp * 32 + i * 16 + ((lane >> 3) & 1) * 8, k = kk + (lane & 7) + (lane >> 4) * 8;
                    ldsm_x4_t(smem_addr(G + k * MB_GS + m), a[i][0], a[i][1], a[i][2], a[i][3]);
                }
                #pragma unroll
                for (int j = 0; j < 8; j += 2) {
                    u32 b0, b1, b2, b3;
                    const int k = kk + (lane & 7) + ((lane >> 3) & 1) * 8, n = j * 8 + (lane >> 4) * 8;
                    ldsm_x4_t(smem_addr(es + k * MB_CS + n), b0, b1, b2, b3);
                    #pragma unroll
                    for (int i = 0; i < 2; i++) {
                        mma16816(o[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b0, b1);
                        mma16816(o[i][j + 1], a[i][0], a[i][1], a[i][2], a[i][3], b2, b3);
                    }
                }
            }
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                #pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int col = v0 + warp * 32 + i * 16 + (lane >> 2) + h * 8;
                    if (col >= V) continue;
                    #pragma unroll
                    for (int j = 0; j < 8; j++) {
                        const int k = d0 + j * 8 + (lane & 3) * 2;
                        const float v0 = o[i][j][h * 2], v1 = o[i][j][h * 2 + 1];
                        if (k < D && (v0 != 0.f || v1 != 0.f)) add_pair(&dC[(size_t)col * D + k], v0 * gScale, v1 * gScale, pairs);
                    }
                }
            }
            __syncthreads();
        }
    }
#else
    __trap(); // f32 inputs take cce_backward_simt
#endif
}
