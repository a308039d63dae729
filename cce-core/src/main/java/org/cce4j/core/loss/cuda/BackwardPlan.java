package org.cce4j.core.loss.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Which passes the CUDA cce backward runs, decided on the host from the tile plan's count, apart
 * from the launches so that a test without a GPU can hold every case to it. Each gradient is
 * "filtered" (computed over the planned tiles only: dE with filterEGrad, dC and dBias with
 * filterCGrad) or "full" (every tile):
 * <pre>
 *   filtered gradients: dense when the path is DENSE, or AUTO with ≥ DENSE_FRACTION active (always when exact)
 *                       — the dense path skips nothing, as it always did —, else the tiled kernels over the list
 *   full gradients:     dense unless the path is TILES, then the tiled kernels over every tile
 *   both dense:         one dense pass computes every gradient (one logits product per chunk, not two)
 * </pre>
 * With both filters on (the default) this is the backward as it was: one pass, over the planned
 * tiles or dense. Gradients are device addresses, 0 for those not asked for.
 */
record BackwardPlan(List<Pass> passes) {

    /** The gradients one pass computes (0: left alone). */
    record Sides(long dE, long dC, long dB) {
        boolean none() {
            return dE == 0 && dC == 0 && dB == 0;
        }
    }

    /** One pass: its gradients, the dense path or the tiled kernels, over every tile or the planned list. */
    record Pass(Sides sides, boolean dense, boolean everyTile) {}

    /**
     * @param filterE  dE is filtered (filterEGrad and a positive threshold, not exact)
     * @param filterC  dC and dBias are filtered
     * @param count    the tiles the plan found active (every tile when nothing is filtered)
     */
    static BackwardPlan of(CudaCutCrossEntropy.BackwardPath path, boolean exact, boolean filterE, boolean filterC,
                           int count, int tiles, long dE, long dC, long dB) {
        boolean denseFiltered = path == CudaCutCrossEntropy.BackwardPath.DENSE
                || (path == CudaCutCrossEntropy.BackwardPath.AUTO && (exact || count >= CudaCutCrossEntropy.DENSE_FRACTION * tiles));
        boolean denseFull = path != CudaCutCrossEntropy.BackwardPath.TILES;
        Sides filtered = new Sides(filterE ? dE : 0L, filterC ? dC : 0L, filterC ? dB : 0L);
        Sides full = new Sides(filterE ? 0L : dE, filterC ? 0L : dC, filterC ? 0L : dB);
        boolean filteredRuns = !filtered.none() && count > 0;
        List<Pass> passes = new ArrayList<>();
        if (filteredRuns && denseFiltered && denseFull && !full.none()) {
            passes.add(new Pass(new Sides(dE, dC, dB), true, true));
        } else {
            if (!full.none()) passes.add(new Pass(full, denseFull, true));
            if (filteredRuns) passes.add(new Pass(filtered, denseFiltered, false));
        }
        return new BackwardPlan(List.copyOf(passes));
    }

    /** Whether some pass takes the dense (cuBLAS) path. */
    boolean anyDense() {
        return passes.stream().anyMatch(Pass::dense);
    }
}
