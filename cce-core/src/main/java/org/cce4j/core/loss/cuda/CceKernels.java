package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.KernelElements;
import org.cce4j.core.cuda.CudaModule;
import org.cce4j.core.tensor.DType;

import java.util.List;

/**
 * The compiled CCE modules for one device and element type, and the launch geometry they share.
 * <pre>
 *   cce_forward_wgmma.cu   sm_90a, bf16/f16, D % 8 == 0: TMA + wgmma, CTA = 128 rows × a vocab split
 *   cce_backward_mma.cu    sm_80+, bf16/f16, D % 8 == 0: mma.sync backward tiles
 *   cce_simt.cu            anything else (f32 exact, odd D, other GPUs): CTA = 64 rows × a vocab split
 *   cce_rows.cu            merge, plan, one-hot backward
 *   cce_dense.cu           the gradient block of the dense (cuBLAS) backward
 *   cce_entries.cu         the entry-list backward: each row's kept entries, then dE, dC, dBias from them
 * </pre>
 * The vocabulary is cut into S splits of whole 256-entry tiles, S chosen so that the CTAs fill
 * whole waves of the device ({@link #splits}). The forwards that also find each row's argmax
 * (accuracy) are the same sources built with CCE_ACCURACY=1, compiled the first time they are
 * asked for ({@link #forwardModule}), so a forward without accuracy runs exactly its usual code.
 */
final class CceKernels {
    static final int TILE_ROWS = 64, TILE_VOCAB = 256;
    static final int WG_ROWS = 128, WG_THREADS = 384;
    static final int WG_SMEM = 4 * (128 * 64 * 2 + 256 * 64 * 2) + 1024 + 128;
    static final int BACKWARD_SMEM = (64 * 257 + 256 * 32) * 4;
    static final int BACKWARD_MMA_SMEM = 64 * 264 * 2 + 2 * (64 + 256) * 40 * 2;

    final CudaModule simt, rows, dense, entries, wgmma, mma;
    final DType elem;
    private final CudaDevice dev;
    private volatile CudaModule wgmmaCluster, entriesWgmma;

    CceKernels(CudaDevice dev, DType elem) {
        this.dev = dev;
        this.elem = elem;
        List<String> defs = List.of("CCE_ELEM=" + code(elem));
        simt = dev.module("cce_simt.cu", defs);
        rows = dev.module("cce_rows.cu", defs);
        dense = dev.module("cce_dense.cu", defs);
        entries = dev.module("cce_entries.cu", defs);
        wgmma = tensorCoresAvailable(dev, elem) ? dev.module("cce_forward_wgmma.cu", defs) : null;
        mma = elem != DType.F32 && dev.computeCapability() >= 80 && !"1".equals(System.getenv("CCE4J_FORCE_SIMT"))
                ? dev.module("cce_backward_mma.cu", defs) : null;
    }

    /** The mma.sync backward applies: sm_80+, 2-byte elements, 16-byte aligned rows (cp.async). */
    boolean useMmaBackward(long e, long c, int dim) {
        return mma != null && dim % 8 == 0 && (e & 15) == 0 && (c & 15) == 0;
    }

    /**
     * The module of the forward kernel: {@code cce_forward_wgmma.cu} ({@code wgmma}, clusters of two
     * CTAs with {@code pairs}) or {@code cce_simt.cu}, built with CCE_ACCURACY=1 when {@code accuracy}.
     */
    CudaModule forwardModule(boolean wgmma, boolean pairs, boolean accuracy) {
        if (!accuracy) return wgmma ? (pairs ? wgmmaCluster() : this.wgmma) : simt;
        List<String> defs = new java.util.ArrayList<>(List.of("CCE_ELEM=" + code(elem), "CCE_ACCURACY=1"));
        if (wgmma && pairs) defs.add("CCE_CLUSTER=2");
        return dev.module(wgmma ? "cce_forward_wgmma.cu" : "cce_simt.cu", defs);
    }

    /** Whether the forward pairs row blocks into clusters of two that share C's k-slices (TMA multicast). */
    static boolean clusterPairs(int rowBlocks) {
        return rowBlocks % 2 == 0 && "1".equals(System.getenv("CCE4J_WGMMA_CLUSTER"));
    }

    /** The wgmma forward built for clusters of two CTAs. */
    CudaModule wgmmaCluster() {
        CudaModule m = wgmmaCluster;
        if (m == null) {
            m = wgmmaCluster = dev.module("cce_forward_wgmma.cu", List.of("CCE_ELEM=" + code(elem), "CCE_CLUSTER=2"));
        }
        return m;
    }

    /** The entry-list backward's logits kernel: cce_forward_wgmma.cu built with CCE_ENTRIES=1 (compiled on first use). */
    CudaModule entriesWgmma() {
        CudaModule m = entriesWgmma;
        if (m == null) {
            m = entriesWgmma = dev.module("cce_forward_wgmma.cu", List.of("CCE_ELEM=" + code(elem), "CCE_ENTRIES=1"));
        }
        return m;
    }

    /** {@code CCE4J_SPLITS} overrides the split count (for measurements), else {@link #splits}. */
    static int splitsFor(int blocks, int tiles, int slots) {
        String env = System.getenv("CCE4J_SPLITS");
        if (env != null && !env.isBlank()) {
            int s = Math.max(1, Math.min(tiles, Integer.parseInt(env.trim())));
            return ceilDiv(tiles, ceilDiv(tiles, s));
        }
        return splits(blocks, tiles, slots);
    }

    static int code(DType elem) {
        return KernelElements.code(elem);
    }

    static boolean tensorCoresAvailable(CudaDevice dev, DType elem) {
        return dev.architecture().equals("sm_90a") && elem != DType.F32 && !"1".equals(System.getenv("CCE4J_FORCE_SIMT"));
    }

    /** The wgmma forward applies: Hopper, 2-byte elements, rows of E and C 16-byte aligned for TMA. */
    boolean useWgmma(long e, long c, int dim) {
        return wgmma != null && dim % 8 == 0 && (e & 15) == 0 && (c & 15) == 0;
    }

    static int ceilDiv(long a, long b) {
        return (int) ((a + b - 1) / b);
    }

    /**
     * The number of vocabulary splits for {@code blocks} row blocks over {@code tiles} vocab tiles when
     * {@code slots} CTAs run at once: the S that minimises waves × (tiles per CTA + 1), the critical path
     * with one tile's worth of start-up per CTA; at most 64 splits (the partial sums cost 8·S·N bytes).
     */
    static int splits(int blocks, int tiles, int slots) {
        int best = 1;
        long bestCost = Long.MAX_VALUE;
        for (int s = 1; s <= Math.min(tiles, 64); s++) {
            int per = ceilDiv(tiles, s);
            int used = ceilDiv(tiles, per);
            long waves = ceilDiv((long) blocks * used, slots);
            long cost = waves * (per + 1);
            if (cost < bestCost) {
                bestCost = cost;
                best = used;
            }
        }
        return best;
    }
}
