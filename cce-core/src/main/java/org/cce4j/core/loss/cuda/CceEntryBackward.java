package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.Cublas;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaKernel;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The filtered CCE backward at the finest unit: each row's entries whose softmax part reaches
 * filterEps, as a list, instead of the 64×256 tiles that hold one. On a trained model's softmax a row
 * has tens of such entries spread over a third of the tiles: the tiled kernel then recomputes a third
 * of the logits and pays its atomics per tile, the dense path three full products; this path pays
 * the logits of the tiles that can matter and work in proportion to the kept entries.
 * <pre>
 *   cce_tile_means → the mean row of C of every 256-entry tile, and of all of C
 *   for each chunk of rows (the first 1,024 a probe):
 *     tensor cores (Hopper, bf16/f16, D % 8 == 0):
 *       cce_block_plan   → per 128-row block, the tiles that can reach the threshold
 *       cce_entries_wgmma → only those tiles' logits; its epilogue appends the kept (column, g) pairs,
 *                           puts each tile's dropped part in Q[row][tile] and sums what it saw per row
 *     elsewhere, per chunk of vocabulary: S = E·Cᵀ (cuBLAS, f32), cce_entries_grad (the same, in order)
 *     mean kept per row ≤ {@link #entriesPerRowLimit}:
 *       cce_entries_apply → dE[r] += Σ g·C[col], dC[col] += g·E[r], dBias (atomics); Q[row][VT] = the
 *                           part of the tiles not visited
 *       dE += Q·means      cuBLAS f32: each tile's dropped part against its mean row
 *     else (a spread-out softmax, where cuBLAS is faster): this chunk and all rows after it take
 *       {@link CceDenseBackward}
 * </pre>
 * What it drops is what the filter says, entry by entry: a softmax part |p·(1+2λ·lse) − α/V| below
 * filterEps is dropped from dC and dBias (the tiled path keeps those that share a tile with a larger
 * one), and below dE's threshold ({@link CudaCutCrossEntropy#entriesEmbeddingEps}: filterEps by
 * default) from dE, where what a tile drops, Σ part·softcap', comes back against the tile's mean row
 * of C and the unvisited tiles' part, (1 + 2λ·lse) − α − Σ visited parts, against the mean of all of C.
 * Why: dE sums rows of C, which in a trained head share a component (the frequency direction), and a
 * dropped tail — 5–10% of a row's probability — would take that component with it: a plain drop at
 * 2⁻¹² put dE 14% off the exact gradient on trained-like inputs (N 256, V 8192), the tiles 0.16%, the
 * lists as built here 0.54% (0.19% with dE's threshold at 2⁻¹⁴); at Gemma 2 2B's head 0.42%
 * (docs/benchmarks.md). A row keeps at most mul/(eps + α/V) entries, because its p sum to 1; that
 * bounds each row's list ({@link #capacity}: 4,102 at bf16's 2⁻¹²), so the path applies where the bound
 * is small and not to f32 inputs or to label smoothing of a small vocabulary (α/V ≥ the threshold
 * keeps every entry).
 */
final class CceEntryBackward {
    /** Device memory for the lists of one chunk of rows (8 bytes per entry); {@code CCE4J_ENTRIES_LIST_MB} overrides it. */
    static final long DEFAULT_LIST_BYTES = 128L << 20;
    /** The largest per-row bound this path takes (bf16's 2⁻¹² gives 4,102, f16's 2⁻¹⁵ 32,802); beyond it the backward stays dense. */
    static final int MAX_CAPACITY = 1 << 18;
    /** Rows of the first chunk, whose kept count decides whether the rest stays on this path. */
    static final int PROBE_ROWS = 1024;

    private CceEntryBackward() {}

    /**
     * The most entries one row can keep: ⌊mulMax·(1 + 10⁻³)/(eps + α/V)⌋ + 2 (the slack covers Σp
     * rounding above 1), at most v; v itself when α/V ≥ eps (every entry is kept) or eps is 0.
     */
    static long capacity(float eps, float alphaOverV, float mulMax, int v) {
        if (!(eps > 0) || alphaOverV >= eps) return v;
        double bound = Math.floor(mulMax * (1 + 1e-3) / ((double) eps + alphaOverV)) + 2;
        return (long) Math.min(v, bound);
    }

    /** Whether the path applies: a threshold whose bound on a row's entries (whatever the vocabulary) is within {@link #MAX_CAPACITY}. */
    static boolean applies(float eps, float alphaOverV, float mulMax, int v) {
        return eps > 0 && alphaOverV < eps && capacity(eps, alphaOverV, mulMax, Integer.MAX_VALUE) <= MAX_CAPACITY;
    }

    /**
     * The mean kept entries per row above which the dense products win: each kept entry costs D
     * f32 atomics and D loads, each row of the dense path two more products over its V entries.
     * The estimate (about 6 bytes of L2 traffic per kept entry and dimension against 4·V·D flops of
     * tensor-core products per row) puts the break-even near V/256 per row; docs/benchmarks.md
     * ("entry lists") has the measurement at lower thresholds.
     */
    static double entriesPerRowLimit(int v) {
        String env = System.getenv("CCE4J_ENTRIES_PER_ROW_LIMIT");
        if (env != null && !env.isBlank()) return Double.parseDouble(env.trim());
        return Math.max(64, v / 256.0);
    }

    /**
     * Rows and vocabulary entries per chunk: rows whose lists fit {@code listBytes} (multiples of 16,
     * at most 8192), then entries as the dense path takes them within {@code workspaceBytes}.
     */
    static int[] chunk(int n, int v, long cap, long workspaceBytes, long listBytes) {
        long rows = Math.min(n, CceDenseBackward.MAX_CHUNK_ROWS);
        long listRows = Math.max(16, listBytes / (8L * cap) / 16 * 16);
        rows = Math.min(rows, listRows);
        long cols = Math.min(Math.min(v, CceDenseBackward.MAX_CHUNK_VOCAB), Math.max(1, workspaceBytes / (4L * rows)));
        if (cols < v) cols = Math.max(Math.min(v, 256), cols / 256 * 256);
        return new int[] {(int) rows, (int) cols};
    }

    /** The list budget: {@code CCE4J_ENTRIES_LIST_MB}, else {@link #DEFAULT_LIST_BYTES}. */
    static long listBytes() {
        String env = System.getenv("CCE4J_ENTRIES_LIST_MB");
        if (env != null && !env.isBlank()) return Math.max(1L, Long.parseLong(env.trim())) << 20;
        return DEFAULT_LIST_BYTES;
    }

    /**
     * One filtered backward's problem: operands and options as the loss has them on the device, and
     * the forward's plan inputs (tile maxima, each group's smallest lse and largest multiplier) that
     * the tensor-core path plans its tiles from.
     */
    record Problem(CudaDevice dev, CceKernels k, DType elem, long e, long c, long bias, long lse, long scale,
                   int n, int v, int d, float softcap, float zLoss, float alpha, float alphaOverV, float epsE, float epsC,
                   long cap, float gScale, long tileMax, long lseMin, long groupMul) {}

    /** Whether the tensor-core kernel computes the lists ({@code CCE4J_ENTRIES_LOGITS=cublas} forces the cuBLAS chunks). */
    static boolean onTensorCores(Problem p) {
        return p.k().useWgmma(p.e(), p.c(), p.d()) && !"cublas".equals(System.getenv("CCE4J_ENTRIES_LOGITS"));
    }

    /**
     * Adds the softmax part of the filtered gradient into dE, dC and dBias (any 0 to skip it).
     * {@code scale} holds each row's upstream × weight; {@code gScale} is only for the dense path
     * this may hand rows to, which it does only when {@code mayFallBack} (a forced path keeps the lists).
     */
    static EntryListOutcome run(Problem p, long dE, long dC, long dB, long workspaceBytes, long listBytes, boolean mayFallBack) {
        boolean tc = onTensorCores(p);
        int[] ch = chunk(p.n(), p.v(), p.cap(), workspaceBytes, listBytes);
        int rowsPer = tc ? Math.max(WG_ROWS, ch[0] / WG_ROWS * WG_ROWS) : ch[0], colsPer = ch[1];
        int esz = p.elem().byteSize(), n = p.n(), d = p.d();
        long cap = p.cap();
        CudaDevice dev = p.dev();
        double limit = entriesPerRowLimit(p.v());
        CudaKernel apply = p.k().entries.kernel("cce_entries_apply");
        long kept = 0;
        int applied = 0;
        int blocksPer = CceKernels.ceilDiv(rowsPer, WG_ROWS), vt = CceKernels.ceilDiv(p.v(), CceKernels.TILE_VOCAB);
        int ldQ = (vt + 1 + 3) / 4 * 4; // 16-byte rows for cuBLAS
        try (DeviceBuffer s = tc ? null : dev.buffer(4L * rowsPer * colsPer);
             DeviceBuffer plan = tc ? dev.buffer(4L * blocksPer * vt) : null;
             DeviceBuffer planCount = tc ? dev.buffer(4L * blocksPer) : null;
             DeviceBuffer counts = dev.buffer(4L * rowsPer);
             DeviceBuffer cols = dev.buffer(4L * rowsPer * cap);
             DeviceBuffer gs = dev.buffer(4L * rowsPer * cap);
             DeviceBuffer overflow = dev.buffer(4);
             DeviceBuffer means = dev.buffer(4L * (vt + 1) * d);
             DeviceBuffer visited = tc ? dev.buffer(4L * rowsPer) : null;
             DeviceBuffer q = dev.buffer(4L * rowsPer * ldQ);
             Arena arena = Arena.ofConfined();
             StageTimer trace = StageTimer.start(dev, "cce entries " + (tc ? "tensor cores" : "cuBLAS"))) {
            Lists lists = new Lists(counts.pointer(), cols.pointer(), gs.pointer(), overflow.pointer(),
                    visited == null ? 0L : visited.pointer(), q.pointer(), ldQ);
            p.k().entries.kernel("cce_tile_means").launch(vt, 1, 256, 0, p.c(), p.v(), d, vt, means.pointer());
            p.k().entries.kernel("cce_mean_of_means").launch(CceKernels.ceilDiv(d, 256), 1, 256, 0, means.pointer(), p.v(), d, vt);
            StageTimer.mark(trace, "means");
            MemorySegment mapE = tc ? dev.tensorMap2d(arena, p.elem(), p.e(), n, d, WG_ROWS, 64) : null;
            MemorySegment mapC = tc ? dev.tensorMap2d(arena, p.elem(), p.c(), p.v(), d, CceKernels.TILE_VOCAB, 64) : null;
            dev.memset(overflow.pointer(), (byte) 0, 4);
            int r0 = 0;
            while (r0 < n) {
                int rows = Math.min(r0 == 0 ? Math.min(rowsPer, PROBE_ROWS) : rowsPer, n - r0);
                dev.memset(counts.pointer(), (byte) 0, 4L * rows);
                if (visited != null) dev.memset(visited.pointer(), (byte) 0, 4L * rows);
                dev.memset(q.pointer(), (byte) 0, 4L * rows * ldQ);
                if (tc) fillOnTensorCores(p, r0, rows, mapE, mapC, plan.pointer(), planCount.pointer(), lists, trace);
                else fillByCublas(p, r0, rows, colsPer, s.pointer(), lists);
                StageTimer.mark(trace, "lists");
                long chunkKept = 0;
                for (int x : dev.downloadInts(counts.pointer(), rows)) chunkKept += Math.min(x, cap);
                if (mayFallBack && chunkKept > limit * rows) {
                    // a spread-out softmax: the dense products are faster for these rows and, most likely, the rest
                    CceDenseBackward.run(dev, p.k(), p.elem(), p.e() + (long) r0 * d * esz, p.c(), p.bias(), p.lse() + 4L * r0,
                            p.scale() + 4L * r0, n - r0, p.v(), d, p.softcap(), p.zLoss(), p.alphaOverV(), p.gScale(),
                            dE == 0 ? 0 : dE + 4L * r0 * d, dC, dB, workspaceBytes);
                    checkOverflow(dev, overflow);
                    return new EntryListOutcome(kept, applied, true);
                }
                apply.launch(rows, 1, 256, 0, p.e(), p.c(), d, r0, counts.pointer(), (int) cap, cols.pointer(), gs.pointer(),
                        q.pointer(), ldQ, vt, lists.visited(), p.lse(), p.scale(), p.zLoss(), p.alpha(), dE, dC, dB);
                StageTimer.mark(trace, "apply");
                if (dE != 0) { // what the tiles dropped, against their mean rows: dE[r] += Q[r]·means
                    dev.cublas().gemm(false, false, rows, d, vt + 1, 1f, q.pointer(), DType.F32, ldQ, means.pointer(),
                            DType.F32, d, 1f, dE + 4L * r0 * d, DType.F32, d);
                }
                StageTimer.mark(trace, "tile-means product");
                kept += chunkKept;
                applied += rows;
                r0 += rows;
            }
            checkOverflow(dev, overflow);
        }
        return new EntryListOutcome(kept, applied, false);
    }

    private static final int WG_ROWS = CceKernels.WG_ROWS;

    /** The lists of one chunk of rows: per-row counts, columns, gradients, and the overflow flag. */
    private record Lists(long counts, long cols, long gs, long overflow, long visited, long q, int ldQ) {}

    /** Rows [r0, r0 + rows): cuBLAS computes each chunk of logits into {@code s}, cce_entries_grad keeps the entries. */
    private static void fillByCublas(Problem p, int r0, int rows, int colsPer, long s, Lists out) {
        Cublas blas = p.dev().cublas();
        CudaKernel grad = p.k().entries.kernel("cce_entries_grad");
        int esz = p.elem().byteSize(), d = p.d();
        long er = p.e() + (long) r0 * d * esz;
        for (int v0 = 0; v0 < p.v(); v0 += colsPer) {
            int cs = Math.min(colsPer, p.v() - v0);
            long cv = p.c() + (long) v0 * d * esz;
            blas.gemm(false, true, rows, cs, d, 1f, er, p.elem(), d, cv, p.elem(), d, 0f, s, DType.F32, colsPer);
            grad.launch(rows, 1, 256, 0, s, cs, colsPer, r0, v0, p.bias(), p.lse(), p.scale(), p.softcap(), p.zLoss(),
                    p.alphaOverV(), p.epsE(), p.epsC(), (int) p.cap(), out.counts(), out.cols(), out.gs(), out.q(), out.ldQ(),
                    out.overflow());
        }
    }

    /**
     * Rows [r0, r0 + rows), r0 a multiple of 128: cce_block_plan lists each 128-row block's tiles that can
     * reach eps, and cce_entries_wgmma recomputes only those, keeping the entries in its epilogue. The
     * list's longest block decides the vocabulary splits (read back: one small copy).
     */
    private static void fillOnTensorCores(Problem p, int r0, int rows, MemorySegment mapE, MemorySegment mapC,
                                          long plan, long planCount, Lists out, StageTimer trace) {
        CudaDevice dev = p.dev();
        int blocks = CceKernels.ceilDiv(rows, WG_ROWS), rb0 = r0 / WG_ROWS;
        int vt = CceKernels.ceilDiv(p.v(), CceKernels.TILE_VOCAB), ng = CceKernels.ceilDiv(p.n(), CceKernels.TILE_ROWS);
        p.k().entries.kernel("cce_block_plan").launch(blocks, 1, 256, 0, p.tileMax(), p.lseMin(), p.groupMul(), ng, vt, rb0,
                p.epsE(), p.alphaOverV(), plan, planCount);
        int longest = 0, sum = 0;
        for (int x : dev.downloadInts(planCount, blocks)) {
            longest = Math.max(longest, x);
            sum += x;
        }
        StageTimer.mark(trace, "plan " + sum + "/" + (blocks * vt) + " tiles");
        if (longest == 0) return;
        int splits = CceKernels.splits(blocks, longest, dev.multiprocessors());
        int per = CceKernels.ceilDiv(longest, splits);
        p.k().entriesWgmma().kernel("cce_entries_wgmma").launch(blocks, CceKernels.ceilDiv(longest, per), CceKernels.WG_THREADS,
                CceKernels.WG_SMEM, mapE, mapC, p.bias(), p.n(), p.v(), p.d(), p.softcap(), per, rb0, plan, planCount, p.lse(),
                p.scale(), p.zLoss(), p.alphaOverV(), p.epsE(), p.epsC(), (int) p.cap(), out.counts(), out.cols(), out.gs(),
                out.q(), out.ldQ(), out.visited(), out.overflow());
    }

    private static void checkOverflow(CudaDevice dev, DeviceBuffer overflow) {
        if (dev.downloadInts(overflow.pointer(), 1)[0] != 0) {
            throw new IllegalStateException("a row kept more CCE gradient entries than its softmax allows: the probabilities"
                    + " did not sum to 1 (non-finite logits?)");
        }
    }
}
