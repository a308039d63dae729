// cce_entries.cu: the entry-list CCE backward (CceEntryBackward.java). Where the filter keeps only a
// few entries of each row (a trained model's softmax: tens of probabilities above 2⁻¹² in 256,000),
// the gradient is a sparse N×V matrix: cuBLAS recomputes a chunk of raw logits S = E·Cᵀ in f32,
// cce_entries_grad keeps each row's entries whose softmax part |p·(1+2λ·lse) − α/V| reaches
// filterEps as (column, gradient) pairs, and cce_entries_apply adds them into the gradients:
//
//   g       = (p·(1+2λ·lse) − α/V)·s·softcap'(x),   p = exp(x − lse),  x = softcap(S + bias)
//   dE[r]  += Σ_k g_k·C[col_k]        one CTA per row, in list order (column order here, so the same
//                                     sum run to run; the tensor-core kernel appends in any order)
//   dC[c]  += g·E[r],  dBias[c] += g  f32 atomics (rows meet in the same columns)
//
// A row keeps at most ⌊mul/filterEps⌋+1 entries (the p sum to 1), so each row's list has a fixed
// capacity chosen on the host. The one-hot part of the gradient stays with cce_target_backward.
// On Hopper with bf16/f16 the logits and the lists come instead from cce_entries_wgmma
// (cce_forward_wgmma.cu built with CCE_ENTRIES=1) over the tiles cce_block_plan lists: no logits
// in memory, and the tiles whose gradient cannot reach filterEps are not recomputed at all.
#include "cce_common.cuh"

#define ENTRY_THREADS 256
#define ENTRY_WARPS (ENTRY_THREADS / 32)
#define APPLY_PER_THREAD 16 // dimensions per thread per pass: 4096 per pass
#define APPLY_UNROLL 2      // entries whose rows of C are in flight at once

// List entries: col ≥ 0 adds into dE, dC and dBias; col | ENTRY_E_ONLY (|part| between the dE and
// the dC thresholds) into dE alone. What a row drops in tile t, Σ part·softcap' × s, goes to
// Q[row][t] (Q: rows × (VT + 1), f32), which the host multiplies by the tiles' mean rows of C
// (means, (VT + 1) × D) into dE, so that what the filter drops keeps its direction along what the
// tile's entries share (a trained head's tail has a common component that a plain drop would turn
// into a bias of dE); Q[row][VT] holds the part of the tiles the tensor-core plan did not visit,
// against the mean of all of C
#define ENTRY_E_ONLY 0x40000000

__device__ __forceinline__ float block_sum_8warps(float x, float* warpSum) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    if ((threadIdx.x & 31) == 0) warpSum[threadIdx.x >> 5] = x;
    __syncthreads();
    float t = 0.f;
    #pragma unroll
    for (int w = 0; w < ENTRY_WARPS; w++) t += warpSum[w];
    return t;
}

/**
 * One CTA per row of a chunk of rows × {@code cols} entries (from vocabulary entry v0, a multiple of
 * 256, so each 256-column step is one tile): appends the row's kept entries after the
 * {@code counts[lrow]} it already holds, in column order (a block-wide prefix per step), then the
 * step's dropped part into Q, so the list and every sum over it are the same run to run.
 * An entry past the capacity sets {@code overflow} (the host's capacity bound makes that impossible
 * short of a rounding error in Σp, and the host refuses the result if it happens).
 */
extern "C" __global__ void __launch_bounds__(ENTRY_THREADS) cce_entries_grad(
        const float* __restrict__ S, int cols, int ldS, int r0, int v0, const float* __restrict__ bias,
        const float* __restrict__ lse, const float* __restrict__ scale, float softcap, float zLoss,
        float alphaOverV, float epsE, float epsC, int cap, int* __restrict__ counts, int* __restrict__ entryCol,
        float* __restrict__ entryG, float* __restrict__ Q, int ldQ, int* __restrict__ overflow) {
    const int lrow = blockIdx.x, row = r0 + lrow, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const float s = scale[row];
    if (s == 0.f) return; // rows that do not count (or whose upstream is 0) keep nothing
    __shared__ int warpKept[ENTRY_WARPS];
    __shared__ float warpDrop[ENTRY_WARPS];
    __shared__ int base;
    if (tid == 0) base = counts[lrow];
    __syncthreads();
    const float* in = S + (size_t)lrow * ldS;
    int* outCol = entryCol + (size_t)lrow * cap;
    float* outG = entryG + (size_t)lrow * cap;
    const float l = lse[row], mul = 1.f + 2.f * zLoss * l, invCap = softcap > 0.f ? 1.f / softcap : 0.f;
    for (int c0 = 0; c0 < cols; c0 += ENTRY_THREADS) {
        const int c = c0 + tid;
        bool keep = false;
        float g = 0.f, drop = 0.f;
        int tag = 0;
        if (c < cols) {
            float z = in[c];
            if (bias) z += bias[v0 + c];
            const float f = softcap_with_slope(z, invCap, softcap);
            const float part = __expf(z - l) * mul - alphaOverV;
            keep = fabsf(part) >= epsE;
            if (keep) {
                g = part * s * f;
                tag = fabsf(part) >= epsC ? 0 : ENTRY_E_ONLY;
            } else {
                drop = part * f;
            }
        }
        const unsigned kept = __ballot_sync(0xffffffffu, keep);
        if (lane == 0) warpKept[warp] = __popc(kept);
        const float dropped = block_sum_8warps(drop, warpDrop); // its __syncthreads also publishes warpKept
        int before = base, total = 0;
        #pragma unroll
        for (int w = 0; w < ENTRY_WARPS; w++) {
            const int kw = warpKept[w];
            if (w < warp) before += kw;
            total += kw;
        }
        if (keep) {
            const int k = before + __popc(kept & ((1u << lane) - 1u));
            if (k < cap) {
                outCol[k] = (v0 + c) | tag;
                outG[k] = g;
            } else {
                *overflow = 1;
            }
        }
        if (tid == 0) Q[(size_t)lrow * ldQ + (v0 + c0) / 256] = dropped * s;
        __syncthreads(); // every thread has read base, warpKept and warpDrop before they change
        if (tid == 0) base += total;
    }
    if (tid == 0) counts[lrow] = min(base, cap);
}

/**
 * One CTA per row of the chunk (rows from r0): dE[r] += Σ g·C[col] over the row's list, in list
 * order, and dC[col] += g·E[r], dBias[col] += g with atomics for the entries above the dC threshold.
 * With {@code visited} (the tensor-core path, which skips tiles whose every entry is below the dE
 * threshold) it writes Q[row][VT] = s·((1 + 2λ·lse) − α − Σ visited parts), the part of the row the
 * unvisited tiles hold. The list is staged through shared
 * memory 256 entries at a time; D is covered in passes of 4096 dimensions (one for every model here), E's row held in registers
 * during a pass. Any gradient may be 0 (not asked for).
 */
extern "C" __global__ void __launch_bounds__(ENTRY_THREADS) cce_entries_apply(
        const elem_t* __restrict__ E, const elem_t* __restrict__ C, int D, int r0,
        const int* __restrict__ counts, int cap, const int* __restrict__ entryCol,
        const float* __restrict__ entryG, float* __restrict__ Q, int ldQ, int VT, const float* __restrict__ visited,
        const float* __restrict__ lse, const float* __restrict__ scale, float zLoss, float alpha,
        float* __restrict__ dE, float* __restrict__ dC, float* __restrict__ dBias) {
    const int lrow = blockIdx.x, row = r0 + lrow, tid = threadIdx.x;
    const int kept = min(counts[lrow], cap); // the tensor-core kernel counts past the capacity (and flags it)
    if (visited && tid == 0) Q[(size_t)lrow * ldQ + VT] = scale[row] * ((1.f + 2.f * zLoss * lse[row]) - alpha - visited[lrow]);
    if (kept == 0) return;
    __shared__ int sCol[ENTRY_THREADS];
    __shared__ float sG[ENTRY_THREADS];
    const int* rowCol = entryCol + (size_t)lrow * cap;
    const float* rowG = entryG + (size_t)lrow * cap;
    const elem_t* e = E + (size_t)row * D;
    for (int d0 = 0; d0 < D; d0 += ENTRY_THREADS * APPLY_PER_THREAD) {
        float acc[APPLY_PER_THREAD], ev[APPLY_PER_THREAD];
        #pragma unroll
        for (int q = 0; q < APPLY_PER_THREAD; q++) {
            const int dd = d0 + q * ENTRY_THREADS + tid;
            acc[q] = 0.f;
            ev[q] = dC && dd < D ? elem_to_f32(e[dd]) : 0.f;
        }
        // the passes this row's D needs of APPLY_PER_THREAD slots (so D = 2304 takes 9, not 16)
        const int slots = min(APPLY_PER_THREAD, (D - d0 + ENTRY_THREADS - 1) / ENTRY_THREADS);
        for (int k0 = 0; k0 < kept; k0 += ENTRY_THREADS) {
            __syncthreads(); // the previous batch is no longer read
            if (k0 + tid < kept) {
                sCol[tid] = rowCol[k0 + tid];
                sG[tid] = rowG[k0 + tid];
            }
            __syncthreads();
            const int m = min(ENTRY_THREADS, kept - k0);
            for (int j = 0; j < m; j += APPLY_UNROLL) {
                // APPLY_UNROLL entries' rows of C loaded before any is used: the loop is latency-bound otherwise
                float cv[APPLY_UNROLL][APPLY_PER_THREAD];
                int col[APPLY_UNROLL];
                float g[APPLY_UNROLL];
                bool toC[APPLY_UNROLL];
                #pragma unroll
                for (int u = 0; u < APPLY_UNROLL; u++) {
                    const bool live = j + u < m;
                    const int tagged = live ? sCol[j + u] : 0;
                    col[u] = tagged & ~ENTRY_E_ONLY;
                    g[u] = live ? sG[j + u] : 0.f;
                    toC[u] = live && (tagged & ENTRY_E_ONLY) == 0;
                    const elem_t* cr = C + (size_t)col[u] * D;
                    #pragma unroll
                    for (int q = 0; q < APPLY_PER_THREAD; q++) {
                        const int dd = d0 + q * ENTRY_THREADS + tid;
                        cv[u][q] = dE && live && q < slots && dd < D ? elem_to_f32(cr[dd]) : 0.f;
                    }
                }
                #pragma unroll
                for (int u = 0; u < APPLY_UNROLL; u++) {
                    float* dcr = dC && toC[u] ? dC + (size_t)col[u] * D : 0;
                    #pragma unroll
                    for (int q = 0; q < APPLY_PER_THREAD; q++) {
                        const int dd = d0 + q * ENTRY_THREADS + tid;
                        if (q < slots && dd < D) {
                            acc[q] += g[u] * cv[u][q];
                            if (dcr) atomicAdd(dcr + dd, g[u] * ev[q]);
                        }
                    }
                    if (dBias && toC[u] && d0 == 0 && tid == 0) atomicAdd(dBias + col[u], g[u]);
                }
            }
        }
        if (dE) {
            float* out = dE + (size_t)row * D;
            #pragma unroll
            for (int q = 0; q < APPLY_PER_THREAD; q++) {
                const int dd = d0 + q * ENTRY_THREADS + tid;
                if (dd < D) out[dd] += acc[q];
            }
        }
    }
}

/** One CTA per 256-entry tile t < VT: means[t] = the mean of the tile's rows of C; t = VT (one more CTA per 256 dims): the mean of all V rows. */
extern "C" __global__ void __launch_bounds__(ENTRY_THREADS) cce_tile_means(const elem_t* __restrict__ C, int V, int D, int VT,
        float* __restrict__ means) {
    const int t = blockIdx.x;
    const int j0 = t * 256, j1 = min(V, j0 + 256);
    for (int dd = threadIdx.x; dd < D; dd += ENTRY_THREADS) {
        float sum[4] = {0.f, 0.f, 0.f, 0.f}; // four loads in flight per thread
        int j = j0;
        for (; j + 4 <= j1; j += 4) {
            #pragma unroll
            for (int u = 0; u < 4; u++) sum[u] += elem_to_f32(C[(size_t)(j + u) * D + dd]);
        }
        for (; j < j1; j++) sum[0] += elem_to_f32(C[(size_t)j * D + dd]);
        means[(size_t)t * D + dd] = (sum[0] + sum[1] + sum[2] + sum[3]) / (float)(j1 - j0);
    }
}

/** means[VT] = the mean of all V rows of C, from the tile means (weighted by their row counts). */
extern "C" __global__ void cce_mean_of_means(float* __restrict__ means, int V, int D, int VT) {
    const int dd = blockIdx.x * blockDim.x + threadIdx.x;
    if (dd >= D) return;
    double sum = 0.0;
    for (int t = 0; t < VT; t++) sum += (double)means[(size_t)t * D + dd] * (double)(min(V, t * 256 + 256) - t * 256);
    means[(size_t)VT * D + dd] = (float)(sum / V);
}

/**
 * One CTA per 128-row block of a chunk (blocks from rowBlock0): the vocabulary tiles, in order, where
 * either of the block's two 64-row groups can reach eps — the test of cce_plan,
 * exp(tileMax − lse_min)·mul_max + α/V ≥ eps — for cce_entries_wgmma to visit.
 */
extern "C" __global__ void __launch_bounds__(ENTRY_THREADS) cce_block_plan(const float* __restrict__ tileMax,
        const float* __restrict__ lseMin, const float* __restrict__ mulMax, int NG, int VT, int rowBlock0, float eps,
        float alphaOverV, int* __restrict__ blockTiles, int* __restrict__ blockCount) {
    const int b = blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g0 = 2 * (rowBlock0 + b), g1 = g0 + 1;
    const float inf = __int_as_float(0x7f800000);
    const float lo0 = g0 < NG ? lseMin[g0] : inf, lo1 = g1 < NG ? lseMin[g1] : inf;
    const float mu0 = g0 < NG ? mulMax[g0] : 0.f, mu1 = g1 < NG ? mulMax[g1] : 0.f;
    __shared__ int warpActive[ENTRY_WARPS];
    __shared__ int base;
    if (tid == 0) base = 0;
    __syncthreads();
    int* out = blockTiles + (size_t)b * VT;
    for (int v0 = 0; v0 < VT; v0 += ENTRY_THREADS) {
        const int vt = v0 + tid;
        bool active = false;
        if (vt < VT) {
            active = (lo0 < inf && __expf(tileMax[(size_t)g0 * VT + vt] - lo0) * mu0 + alphaOverV >= eps)
                  || (lo1 < inf && __expf(tileMax[(size_t)g1 * VT + vt] - lo1) * mu1 + alphaOverV >= eps);
        }
        const unsigned act = __ballot_sync(0xffffffffu, active);
        if (lane == 0) warpActive[warp] = __popc(act);
        __syncthreads();
        int before = base, total = 0;
        #pragma unroll
        for (int w = 0; w < ENTRY_WARPS; w++) {
            if (w < warp) before += warpActive[w];
            total += warpActive[w];
        }
        if (active) out[before + __popc(act & ((1u << lane) - 1u))] = vt;
        __syncthreads();
        if (tid == 0) base += total;
    }
    __syncthreads();
    if (tid == 0) blockCount[b] = base;
}
