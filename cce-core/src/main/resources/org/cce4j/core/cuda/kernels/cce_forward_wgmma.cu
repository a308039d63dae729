// cce_forward_wgmma.cu: the CCE forward on Hopper tensor cores (sm_90a), for bf16 and f16 inputs.
// One CTA = 128 rows of E × one split of the vocabulary, three warpgroups:
//
//   warpgroup 0 (producer, 40 registers): one thread issues TMA loads of E[128×64] and C[256×64]
//       k-slices into a 4-stage ring of shared memory (128-byte swizzle), signalling full[stage]
//   warpgroups 1, 2 (consumers, 232 registers): rows 0-63 / 64-127 of the block; per 256-entry
//       vocab tile, 4 wgmma m64n256k16 per k-slice into 128 f32 accumulators per thread, then the
//       fused epilogue on the accumulators: +bias, softcap, online max/Σexp per row, the target's
//       logit, Σz (smoothing) and the tile's largest logit (for the backward's skip test); built with
//       CCE_ACCURACY=1, also the first index of each row's maximum, searched only in the tiles that
//       raise the row's running maximum (64 compares and 2 shuffles per row there; none elsewhere)
//
//   smem: [stage 0..3: E 128×64 bf16 (16 KB)] [stage 0..3: C 256×64 (32 KB)] [full[4], empty[4] mbarriers]
//
// The logits never leave registers; each split writes per-row (max, Σexp) that cce_merge combines.
// Accumulator layout (wgmma m64nN f32): thread t of the warpgroup, warp w = t/32, lane l:
//   d[4j + 2h + c] = row 16w + l/4 + 8h, column 8j + 2(l%4) + c      (j < 32, h, c ∈ {0, 1})
#include "cce_common.cuh"
#include "wgmma.cuh"

#define WG_BM 128
#define WG_BN 256
#define WG_BK 64
#define WG_STAGES 4
#define WG_A_BYTES (WG_BM * WG_BK * 2)
// CCE_CLUSTER=2: CTAs of row blocks 2i and 2i+1 form a cluster; each loads half of every C k-slice
// and multicasts it to both, halving the C traffic from L2 (the stage is refilled once all four
// consumer warpgroups of the pair have released it)
#ifndef CCE_CLUSTER
#define CCE_CLUSTER 1
#endif
#if CCE_CLUSTER == 2 && (defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(CCE_SM90A))
#define WG_CLUSTER_ATTR __cluster_dims__(2, 1, 1)
#else
#define WG_CLUSTER_ATTR
#endif
#define WG_B_BYTES (WG_BN * WG_BK * 2)

struct __align__(64) TmaDesc { u64 v[16]; };

#if defined(CCE_HAS_WGMMA)

__device__ __forceinline__ u32 smem_u32(const void* p) {
    u32 r;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
    return r;
}

__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"(bar), "r"(count));
}
__device__ __forceinline__ void mbar_expect_tx(u32 bar, u32 bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" :: "r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(u32 bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" :: "r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
    u32 done = 0;
    while (!done) {
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done) : "r"(bar), "r"(parity) : "memory");
    }
}
__device__ __forceinline__ void tma_load_2d(u32 dst, const TmaDesc* map, u32 bar, int c0, int c1) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
                 :: "r"(dst), "l"((u64)map), "r"(c0), "r"(c1), "r"(bar) : "memory");
}
/** The same C rows into the same smem offset of every CTA of the cluster, completing on each CTA's barrier. */
__device__ __forceinline__ void tma_load_2d_multicast(u32 dst, const TmaDesc* map, u32 bar, int c0, int c1, u16 mask) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;"
                 :: "r"(dst), "l"((u64)map), "r"(c0), "r"(c1), "r"(bar), "h"(mask) : "memory");
}
__device__ __forceinline__ void mbar_arrive_remote(u32 bar, u32 cta) {
    u32 remote;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(bar), "r"(cta));
    asm volatile("mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];" :: "r"(remote) : "memory");
}
__device__ __forceinline__ u32 cluster_rank() {
    u32 r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
    return r;
}
__device__ __forceinline__ void cluster_sync() {
    asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory");
}
__device__ __forceinline__ void fence_acc(float* d) {
    #pragma unroll
    for (int i = 0; i < 128; i++) asm volatile("" : "+f"(d[i]) :: "memory");
}

__device__ __forceinline__ void wgmma_m64n256k16_bf16(float* d, u64 descA, u64 descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
        "%128, %129, p, 1, 1, 0, 0;\n"
        "}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "l"(descA), "l"(descB), "r"(1));
}
__device__ __forceinline__ void wgmma_m64n256k16_f16(float* d, u64 descA, u64 descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
        "%128, %129, p, 1, 1, 0, 0;\n"
        "}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "l"(descA), "l"(descB), "r"(1));
}

#if CCE_ELEM == 2
#define WGMMA wgmma_m64n256k16_f16
#else
#define WGMMA wgmma_m64n256k16_bf16
#endif

#endif // CCE_HAS_WGMMA

// CCE_ENTRIES=1 builds, from the same main loop, the entry-list backward's logits kernel
// cce_entries_wgmma (CceEntryBackward): a CTA visits only the vocabulary tiles its row block's
// plan lists (cce_block_plan), and its epilogue keeps the entries whose softmax part reaches
// filterEps as (column, gradient) pairs in each row's list instead of the forward's statistics
#ifndef CCE_ENTRIES
#define CCE_ENTRIES 0
#endif

#if CCE_ENTRIES
extern "C" __global__ void __launch_bounds__(384, 1) cce_entries_wgmma(
        const __grid_constant__ TmaDesc tmE, const __grid_constant__ TmaDesc tmC,
        const float* __restrict__ bias, int N, int V, int D, float softcap, int vtPerSplit, int rowBlock0,
        const int* __restrict__ blockTiles, const int* __restrict__ blockCount, const float* __restrict__ lse,
        const float* __restrict__ scale, float zLoss, float alphaOverV, float eps, float epsC, int cap, int* __restrict__ counts,
        int* __restrict__ entryCol, float* __restrict__ entryG, float* __restrict__ Q, int ldQ, float* __restrict__ visited,
        int* __restrict__ overflow) {
#else
extern "C" __global__ void WG_CLUSTER_ATTR __launch_bounds__(384, 1) cce_forward_wgmma(
        const __grid_constant__ TmaDesc tmE, const __grid_constant__ TmaDesc tmC,
        const float* __restrict__ bias, const int* __restrict__ target, int N, int V, int D, float softcap,
        int smoothing, int vtPerSplit, float* __restrict__ partMax, float* __restrict__ partSum,
        float* __restrict__ partLsum, float* __restrict__ targetZ, float* __restrict__ tileMax,
        int* __restrict__ partArg) {
#endif
#if defined(CCE_HAS_WGMMA)
    extern __shared__ unsigned char smemRaw[];
    const u32 base = (smem_u32(smemRaw) + 1023u) & ~1023u;
    const u32 aBase = base, bBase = base + WG_STAGES * WG_A_BYTES;
    const u32 barBase = bBase + WG_STAGES * WG_B_BYTES; // full[s] at +8s, empty[s] at +64+8s
    const int wg = threadIdx.x >> 7, t = threadIdx.x & 127;
    const int VT = (V + WG_BN - 1) / WG_BN;
#if CCE_ENTRIES
    // this CTA's part of its row block's list of active tiles (blocks of the chunk from rowBlock0)
    const int* tileOf = blockTiles + (size_t)blockIdx.x * VT;
    const int vt0 = blockIdx.y * vtPerSplit, vt1 = min(blockCount[blockIdx.x], vt0 + vtPerSplit);
    const int KB = (D + WG_BK - 1) / WG_BK;
    const int rowBlock = rowBlock0 + blockIdx.x;
#define WG_TILE(i) tileOf[i]
#else
    const int vt0 = blockIdx.y * vtPerSplit, vt1 = min(VT, vt0 + vtPerSplit);
    const int KB = (D + WG_BK - 1) / WG_BK;
    const int rowBlock = blockIdx.x;
#define WG_TILE(i) (i)
#endif

    if (threadIdx.x == 0) {
        for (int s = 0; s < WG_STAGES; s++) {
            mbar_init(barBase + 8 * s, 1);
            mbar_init(barBase + 64 + 8 * s, 2 * CCE_CLUSTER);
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
#if CCE_CLUSTER == 2
    const u32 rank = cluster_rank(), peer = rank ^ 1u;
    cluster_sync();
#else
    __syncthreads();
#endif

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
        if (t == 0) {
            int stage = 0;
            u32 phase = 0;
            for (int it = vt0; it < vt1; it++) {
                const int vt = WG_TILE(it);
                for (int kb = 0; kb < KB; kb++) {
                    mbar_wait(barBase + 64 + 8 * stage, phase ^ 1);
                    const u32 full = barBase + 8 * stage;
                    mbar_expect_tx(full, WG_A_BYTES + WG_B_BYTES);
                    tma_load_2d(aBase + stage * WG_A_BYTES, &tmE, full, kb * WG_BK, rowBlock * WG_BM);
#if CCE_CLUSTER == 2
                    tma_load_2d_multicast(bBase + stage * WG_B_BYTES + rank * (WG_B_BYTES / 2), &tmC, full, kb * WG_BK,
                                          vt * WG_BN + rank * (WG_BN / 2), (u16)3);
#else
                    tma_load_2d(bBase + stage * WG_B_BYTES, &tmC, full, kb * WG_BK, vt * WG_BN);
#endif
                    if (++stage == WG_STAGES) { stage = 0; phase ^= 1; }
                }
            }
        }
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
        const int c = wg - 1;
        const int warp = t >> 5, lane = t & 31, quad = lane & 3;
        const int rowLo = rowBlock * WG_BM + c * 64 + warp * 16 + (lane >> 2);
        const int rows[2] = {rowLo, rowLo + 8};
#if CCE_ENTRIES
        const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;
        float lse2[2], mul[2], sc[2];
        for (int h = 0; h < 2; h++) {
            const bool in = rows[h] < N;
            const float l = in ? lse[rows[h]] : 0.f;
            lse2[h] = l * CCE_LOG2E;
            mul[h] = 1.f + 2.f * zLoss * l;
            sc[h] = in ? scale[rows[h]] : 0.f; // 0: past N, or a row that does not count
        }
#else
        int tgt[2];
        float m[2], s[2], ls[2];
#if CCE_ACCURACY
        int arg[2] = {0x7fffffff, 0x7fffffff};
#endif
        for (int h = 0; h < 2; h++) {
            tgt[h] = target && rows[h] < N ? target[rows[h]] : -1; // no targets: cce_target_logits gathers them
            m[h] = CCE_NEG_INF; s[h] = 0.f; ls[h] = 0.f;
        }
        const float invCap = softcap > 0.f ? 1.f / softcap : 0.f;
        const int group = rowBlock * 2 + c;
        const int NG = (N + 63) / 64;
#endif
        int stage = 0;
        u32 phase = 0;
        float d[128];
        for (int it = vt0; it < vt1; it++) {
            const int vt = WG_TILE(it);
            #pragma unroll
            for (int i = 0; i < 128; i++) d[i] = 0.f;
            // one batch of wgmmas stays in flight while the next is issued: a k-slice's stage is
            // released once the batch after it has been committed and the batch reading it retired
            int prev = -1;
            fence_acc(d);
            for (int kb = 0; kb < KB; kb++) {
                mbar_wait(barBase + 8 * stage, phase);
                const u32 a = aBase + stage * WG_A_BYTES + c * (64 * WG_BK * 2);
                const u32 b = bBase + stage * WG_B_BYTES;
                wgmma_fence();
                #pragma unroll
                for (int kk = 0; kk < WG_BK / 16; kk++) WGMMA(d, smem_desc(a + kk * 32), smem_desc(b + kk * 32));
                wgmma_commit();
                wgmma_wait1();
                if (prev >= 0 && t == 0) {
                    mbar_arrive(barBase + 64 + 8 * prev);
#if CCE_CLUSTER == 2
                    mbar_arrive_remote(barBase + 64 + 8 * prev, peer);
#endif
                }
                prev = stage;
                if (++stage == WG_STAGES) { stage = 0; phase ^= 1; }
            }
            wgmma_wait0();
            fence_acc(d);
            if (t == 0) {
                mbar_arrive(barBase + 64 + 8 * prev);
#if CCE_CLUSTER == 2
                mbar_arrive_remote(barBase + 64 + 8 * prev, peer);
#endif
            }

            // ---- epilogue: the 64×256 logits of this warpgroup are in d ----
            const int v0 = vt * WG_BN;
            if (bias) {
                #pragma unroll
                for (int j = 0; j < 32; j++) {
                    const int col = v0 + 8 * j + 2 * quad;
                    const float b0 = col < V ? bias[col] : 0.f, b1 = col + 1 < V ? bias[col + 1] : 0.f;
                    d[4 * j] += b0; d[4 * j + 2] += b0; d[4 * j + 1] += b1; d[4 * j + 3] += b1;
                }
            }
            if (softcap > 0.f) {
                #pragma unroll
                for (int i = 0; i < 128; i++) d[i] = softcap_fast(d[i], invCap, softcap);
            }
            if (v0 + WG_BN > V) { // the last tile: entries past V do not exist
                #pragma unroll
                for (int j = 0; j < 32; j++) {
                    const int col = v0 + 8 * j + 2 * quad;
                    if (col >= V) { d[4 * j] = CCE_NEG_INF; d[4 * j + 2] = CCE_NEG_INF; }
                    if (col + 1 >= V) { d[4 * j + 1] = CCE_NEG_INF; d[4 * j + 3] = CCE_NEG_INF; }
                }
            }
#if CCE_ENTRIES
            // the entries whose softmax part reaches eps (dE's threshold) go to their row's list, tagged
            // dE-only below epsC (any order: atomics); the rest of the tile's row, Σ part·softcap' × s, goes
            // to Q[row][vt], and Σ part of the whole visited tile into visited[row]
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                const int lrow = rows[h] - rowBlock0 * WG_BM;
                float drop = 0.f, seen = 0.f;
                #pragma unroll
                for (int j = 0; j < 32; j++) {
                    #pragma unroll
                    for (int cc = 0; cc < 2; cc++) {
                        const int col = v0 + 8 * j + 2 * quad + cc;
                        const float x = d[4 * j + 2 * h + cc];
                        const float part = ex2_approx(fmaf(x, CCE_LOG2E, -lse2[h])) * mul[h] - alphaOverV;
                        const float f = softcap > 0.f ? softcap_slope(x, invCap) : 1.f;
                        if (col < V) {
                            seen += part;
                            if (fabsf(part) >= eps) {
                                if (sc[h] != 0.f) {
                                    const int k = atomicAdd(counts + lrow, 1);
                                    if (k < cap) {
                                        entryCol[(size_t)lrow * cap + k] = col | (fabsf(part) >= epsC ? 0 : 0x40000000);
                                        entryG[(size_t)lrow * cap + k] = part * sc[h] * f;
                                    } else {
                                        *overflow = 1;
                                    }
                                }
                            } else {
                                drop += part * f;
                            }
                        }
                    }
                }
                drop += __shfl_xor_sync(0xffffffffu, drop, 1);
                drop += __shfl_xor_sync(0xffffffffu, drop, 2);
                seen += __shfl_xor_sync(0xffffffffu, seen, 1);
                seen += __shfl_xor_sync(0xffffffffu, seen, 2);
                if (quad == 0 && sc[h] != 0.f) {
                    atomicAdd(visited + lrow, seen);
                    Q[(size_t)lrow * ldQ + vt] = drop * sc[h];
                }
            }
#else
            float tmax = CCE_NEG_INF;
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                float rmax = CCE_NEG_INF;
                #pragma unroll
                for (int j = 0; j < 32; j++) rmax = fmax_(rmax, fmax_(d[4 * j + 2 * h], d[4 * j + 2 * h + 1]));
                rmax = fmax_(rmax, __shfl_xor_sync(0xffffffffu, rmax, 1));
                rmax = fmax_(rmax, __shfl_xor_sync(0xffffffffu, rmax, 2));
                if (rows[h] < N) tmax = fmax_(tmax, rmax);
#if CCE_ACCURACY
                // the quad of a row agrees on rmax and m[h]: a strictly larger maximum moves the argmax
                // to its first column in this tile (an equal one keeps the earlier tile's)
                const bool raises = rmax > m[h];
                const unsigned lanes = __ballot_sync(0xffffffffu, raises);
                if (raises) {
                    int first = 0x7fffffff;
                    #pragma unroll
                    for (int j = 31; j >= 0; j--) {
                        const int col = v0 + 8 * j + 2 * quad;
                        if (d[4 * j + 2 * h + 1] == rmax) first = col + 1;
                        if (d[4 * j + 2 * h] == rmax) first = col;
                    }
                    first = min(first, __shfl_xor_sync(lanes, first, 1));
                    first = min(first, __shfl_xor_sync(lanes, first, 2));
                    arg[h] = first;
                }
#endif
                const float mNew = fmax_(m[h], rmax);
                const float shift = mNew * CCE_LOG2E;
                float add = 0.f;
                #pragma unroll
                for (int j = 0; j < 32; j++) {
                    add += ex2_approx(fmaf(d[4 * j + 2 * h], CCE_LOG2E, -shift));
                    add += ex2_approx(fmaf(d[4 * j + 2 * h + 1], CCE_LOG2E, -shift));
                }
                s[h] = s[h] * ex2_approx(m[h] * CCE_LOG2E - shift) + add;
                m[h] = mNew;
                if (smoothing) {
                    float sum = 0.f;
                    #pragma unroll
                    for (int j = 0; j < 32; j++) {
                        const int col = v0 + 8 * j + 2 * quad;
                        if (col < V) sum += d[4 * j + 2 * h];
                        if (col + 1 < V) sum += d[4 * j + 2 * h + 1];
                    }
                    ls[h] += sum;
                }
                const int tc = tgt[h] - v0;
                if (tc >= 0 && tc < WG_BN && ((tc >> 1) & 3) == quad) {
                    float val = 0.f;
                    #pragma unroll
                    for (int j = 0; j < 32; j++) {
                        if (j == (tc >> 3)) val = (tc & 1) ? d[4 * j + 2 * h + 1] : d[4 * j + 2 * h];
                    }
                    targetZ[rows[h]] = val;
                }
            }
            tmax = fmax_(tmax, __shfl_xor_sync(0xffffffffu, tmax, 4));
            tmax = fmax_(tmax, __shfl_xor_sync(0xffffffffu, tmax, 8));
            tmax = fmax_(tmax, __shfl_xor_sync(0xffffffffu, tmax, 16));
            if (lane == 0 && group < NG && tmax > CCE_NEG_INF) atomic_max_float(&tileMax[(size_t)group * VT + vt], tmax);
#endif
        }
#if !CCE_ENTRIES
        #pragma unroll
        for (int h = 0; h < 2; h++) {
            float sh = s[h], lh = ls[h];
            sh += __shfl_xor_sync(0xffffffffu, sh, 1);
            sh += __shfl_xor_sync(0xffffffffu, sh, 2);
            lh += __shfl_xor_sync(0xffffffffu, lh, 1);
            lh += __shfl_xor_sync(0xffffffffu, lh, 2);
            if (quad == 0 && rows[h] < N) {
                partMax[(size_t)blockIdx.y * N + rows[h]] = m[h];
                partSum[(size_t)blockIdx.y * N + rows[h]] = sh;
                if (smoothing) partLsum[(size_t)blockIdx.y * N + rows[h]] = lh;
#if CCE_ACCURACY
                partArg[(size_t)blockIdx.y * N + rows[h]] = arg[h];
#endif
            }
        }
#endif
    }
#if CCE_CLUSTER == 2
    cluster_sync(); // no CTA leaves while its peer may still write into its shared memory
#endif
#else
    __trap(); // built for an architecture without wgmma: the host only launches this on sm_90a
#endif
}
