package org.cce4j.core.loss.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Which passes the CUDA cce backward runs, decided on the host from the tile plan's count, apart
 * from the launches so that a test without a GPU can hold every case to it. Each gradient is
 * "filtered" (only what can reach filterEps: dE with filterEGrad, dC and dBias with filterCGrad) or
 * "full" (every tile), and each pass takes one of three methods:
 * <pre>
 *   filtered gradients, AUTO:  ENTRIES when the entry lists apply and ≥ ENTRIES_FRACTION of the tiles are active,
 *                              else DENSE when ≥ DENSE_FRACTION are (always when exact), else TILES;
 *                              a forced path is taken as asked (ENTRIES where the lists do not apply: DENSE)
 *   full gradients:            DENSE unless the path is TILES, then the tiled kernels over every tile
 *   both DENSE:                one dense pass computes every gradient (one logits product per chunk, not two)
 * </pre>
 * Gradients are device addresses, 0 for those not asked for.
 */
record BackwardPlan(List<Pass> passes) {

    /** How a pass computes its gradients. */
    enum Method {
        /** the planned (or every) 64×256 tile, recomputed on tensor cores, atomics into the gradients */
        TILES,
        /** chunks of cuBLAS products over every row and entry ({@link CceDenseBackward}) */
        DENSE,
        /** each row's kept entries as a list ({@link CceEntryBackward}), filtered gradients only */
        ENTRIES
    }

    /** The gradients one pass computes (0: left alone). */
    record Sides(long dE, long dC, long dB) {
        boolean none() {
            return dE == 0 && dC == 0 && dB == 0;
        }
    }

    /** One pass: its gradients, its method, over every tile or the planned list. */
    record Pass(Sides sides, Method method, boolean everyTile) {}

    /**
     * @param filterE  dE is filtered (filterEGrad and a positive threshold, not exact)
     * @param filterC  dC and dBias are filtered
     * @param count    the tiles the plan found active (every tile when nothing is filtered)
     * @param entries  the entry lists apply to this problem ({@link CceEntryBackward#applies})
     */
    static BackwardPlan of(CudaCutCrossEntropy.BackwardPath path, boolean exact, boolean filterE, boolean filterC,
                           int count, int tiles, boolean entries, long dE, long dC, long dB) {
        Method filteredMethod = switch (path) {
            case DENSE -> Method.DENSE;
            case TILES -> Method.TILES;
            case ENTRIES -> entries && !exact ? Method.ENTRIES : Method.DENSE;
            case AUTO -> exact ? Method.DENSE
                    : entries && count >= CudaCutCrossEntropy.ENTRIES_FRACTION * tiles ? Method.ENTRIES
                    : count >= CudaCutCrossEntropy.DENSE_FRACTION * tiles ? Method.DENSE : Method.TILES;
        };
        Method fullMethod = path == CudaCutCrossEntropy.BackwardPath.TILES ? Method.TILES : Method.DENSE;
        Sides filtered = new Sides(filterE ? dE : 0L, filterC ? dC : 0L, filterC ? dB : 0L);
        Sides full = new Sides(filterE ? 0L : dE, filterC ? 0L : dC, filterC ? 0L : dB);
        boolean filteredRuns = !filtered.none() && count > 0;
        List<Pass> passes = new ArrayList<>();
        if (filteredRuns && filteredMethod == Method.DENSE && fullMethod == Method.DENSE && !full.none()) {
            passes.add(new Pass(new Sides(dE, dC, dB), Method.DENSE, true));
        } else {
            if (!full.none()) passes.add(new Pass(full, fullMethod, true));
            if (filteredRuns) passes.add(new Pass(filtered, filteredMethod, false));
        }
        return new BackwardPlan(List.copyOf(passes));
    }

    /** Whether some pass takes the dense (cuBLAS) path. */
    boolean anyDense() {
        return passes.stream().anyMatch(p -> p.method() == Method.DENSE);
    }

    /** Whether some pass takes the entry lists. */
    boolean anyEntries() {
        return passes.stream().anyMatch(p -> p.method() == Method.ENTRIES);
    }
}
