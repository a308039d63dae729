package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.Cublas;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaKernel;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.tensor.DType;

/**
 * The filtered CCE backward at the finest unit: each row's entries whose softmax part reaches
 * filterEps, as a list, instead of the 64×256 tiles that hold one. On a trained model's softmax a row
 * has tens of such entries spread over a third of the tiles: the tiled kernel then recomputes a third
 * of the logits and pays its atomics per tile, the dense path three full products; this path pays one
 * product (the logits) and work in proportion to the kept entries.
 * <pre>
 *   for each chunk of Nr rows (the first one small, a probe):
 *     for each chunk of Vc vocabulary entries:
 *       S = E[r]·C[v]ᵀ                          cuBLAS, f32 out (the dense path's workspace)
 *       cce_entries_grad → the kept (column, g) of each row, appended in column order
 *     mean kept per row ≤ {@link #entriesPerRowLimit}:
 *       cce_entries_apply → dE[r] += Σ g·C[col] (per row, in order), dC[col] += g·E[r], dBias (atomics)
 *     else (a spread-out softmax: thousands kept per row, where cuBLAS is faster):
 *       this chunk and all rows after it take {@link CceDenseBackward}
 * </pre>
 * What it drops is exactly what the filter says, entry by entry: every |p·(1+2λ·lse) − α/V| below
 * filterEps (the tiled path keeps those that share a tile with a larger one). A row keeps at most
 * mul/(filterEps + α/V) entries, because its p sum to 1; that bounds each row's list
 * ({@link #capacity}), so the path applies where the bound is small (bf16’s 2⁻¹²: 4,102 per row) and
 * not to f32 inputs or to label smoothing of a small vocabulary (α/V ≥ filterEps keeps every entry).
 */
final class CceEntryBackward {
    /** Device memory for the lists of one chunk of rows (8 bytes per entry); {@code CCE4J_ENTRIES_LIST_MB} overrides it. */
    static final long DEFAULT_LIST_BYTES = 128L << 20;
    /** The largest per-row capacity this path takes (f16's 2⁻¹⁵ gives 32,770); beyond it the backward stays dense. */
    static final int MAX_CAPACITY = 1 << 16;
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

    /** Whether the path applies: a threshold, and a per-row capacity within {@link #MAX_CAPACITY}. */
    static boolean applies(float eps, float alphaOverV, float mulMax, int v) {
        return eps > 0 && alphaOverV < eps && capacity(eps, alphaOverV, mulMax, v) <= MAX_CAPACITY;
    }

    /**
     * The mean kept entries per row above which the dense products win: each kept entry costs D
     * f32 atomics and D loads, each row of the dense path two more products over its V entries.
     * Measured on the H200 (docs/benchmarks.md, "entry lists"): break-even near V/1024 per row.
     */
    static double entriesPerRowLimit(int v) {
        String env = System.getenv("CCE4J_ENTRIES_PER_ROW_LIMIT");
        if (env != null && !env.isBlank()) return Double.parseDouble(env.trim());
        return Math.max(64, v / 1024.0);
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
     * Adds the softmax part of the filtered gradient into dE, dC and dBias (any 0 to skip it).
     * {@code scale} holds each row's upstream × weight; {@code gScale} is only for the dense path
     * this may hand rows to, which it does only when {@code mayFallBack} (a forced path keeps the lists).
     */
    static EntryListOutcome run(CudaDevice dev, CceKernels k, DType elem, long e, long c, long bias, long lse, long scale,
                       int n, int v, int d, float softcap, float zLoss, float alphaOverV, float eps, long cap, float gScale,
                       long dE, long dC, long dB, long workspaceBytes, long listBytes,
                                boolean mayFallBack) {
        int[] ch = chunk(n, v, cap, workspaceBytes, listBytes);
        int rowsPer = ch[0], colsPer = ch[1];
        int esz = elem.byteSize();
        double limit = entriesPerRowLimit(v);
        Cublas blas = dev.cublas();
        CudaKernel grad = k.entries.kernel("cce_entries_grad");
        CudaKernel apply = k.entries.kernel("cce_entries_apply");
        long kept = 0;
        int applied = 0;
        try (DeviceBuffer s = dev.buffer(4L * rowsPer * colsPer);
             DeviceBuffer counts = dev.buffer(4L * rowsPer);
             DeviceBuffer cols = dev.buffer(4L * rowsPer * cap);
             DeviceBuffer gs = dev.buffer(4L * rowsPer * cap);
             DeviceBuffer overflow = dev.buffer(4)) {
            dev.memset(overflow.pointer(), (byte) 0, 4);
            int r0 = 0;
            while (r0 < n) {
                int rows = Math.min(r0 == 0 ? Math.min(rowsPer, PROBE_ROWS) : rowsPer, n - r0);
                long er = e + (long) r0 * d * esz;
                dev.memset(counts.pointer(), (byte) 0, 4L * rows);
                for (int v0 = 0; v0 < v; v0 += colsPer) {
                    int cs = Math.min(colsPer, v - v0);
                    long cv = c + (long) v0 * d * esz;
                    blas.gemm(false, true, rows, cs, d, 1f, er, elem, d, cv, elem, d, 0f, s.pointer(), DType.F32, colsPer);
                    grad.launch(rows, 1, 256, 0, s.pointer(), cs, colsPer, r0, v0, bias, lse, scale, softcap, zLoss,
                            alphaOverV, eps, (int) cap, counts.pointer(), cols.pointer(), gs.pointer(), overflow.pointer());
                }
                long chunkKept = 0;
                for (int x : dev.downloadInts(counts.pointer(), rows)) chunkKept += x;
                if (mayFallBack && chunkKept > limit * rows) {
                    // a spread-out softmax: the dense products are faster for these rows and, most likely, the rest
                    CceDenseBackward.run(dev, k, elem, er, c, bias, lse + 4L * r0, scale + 4L * r0, n - r0, v, d,
                            softcap, zLoss, alphaOverV, gScale, dE == 0 ? 0 : dE + 4L * r0 * d, dC, dB, workspaceBytes);
                    checkOverflow(dev, overflow);
                    return new EntryListOutcome(kept, applied, true);
                }
                apply.launch(rows, 1, 256, 0, e, c, d, r0, counts.pointer(), (int) cap, cols.pointer(), gs.pointer(),
                        dE, dC, dB);
                kept += chunkKept;
                applied += rows;
                r0 += rows;
            }
            checkOverflow(dev, overflow);
        }
        return new EntryListOutcome(kept, applied, false);
    }

    private static void checkOverflow(CudaDevice dev, DeviceBuffer overflow) {
        if (dev.downloadInts(overflow.pointer(), 1)[0] != 0) {
            throw new IllegalStateException("a row kept more CCE gradient entries than its softmax allows: the probabilities"
                    + " did not sum to 1 (non-finite logits?)");
        }
    }
}
