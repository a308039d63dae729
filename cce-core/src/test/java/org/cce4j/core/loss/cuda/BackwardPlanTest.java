package org.cce4j.core.loss.cuda;

import org.cce4j.core.loss.cuda.BackwardPlan.Pass;
import org.cce4j.core.loss.cuda.BackwardPlan.Sides;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.AUTO;
import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.DENSE;
import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.ENTRIES;
import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.TILES;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The passes of the CUDA cce backward for every combination that matters (no GPU needed): with
 * both filters on it is the backward as before; a gradient whose filter is off is computed over
 * every tile and the other over the planned ones; nothing is computed twice or left out.
 */
class BackwardPlanTest {
    private static final long E = 0x1000, C = 0x2000, B = 0x3000;
    private static final int TILES_IN_ALL = 1000, FEW = 40, MANY = 500, SOME = 80; // 4%, 50% and 8% active
    private static final BackwardPlan.Method TILES_M = BackwardPlan.Method.TILES, DENSE_M = BackwardPlan.Method.DENSE,
            ENTRIES_M = BackwardPlan.Method.ENTRIES;

    /** The plan where the entry lists apply (a bf16 threshold, no large label smoothing). */
    private static List<Pass> planWithLists(CudaCutCrossEntropy.BackwardPath path, boolean exact, boolean filterE, boolean filterC,
                                            int count) {
        return BackwardPlan.of(path, exact, filterE, filterC, count, TILES_IN_ALL, true, E, C, B).passes();
    }

    @Test
    void entryListsTakeTheFilteredGradientsOnceEnoughTilesAreActive() {
        Sides all = new Sides(E, C, B);
        assertEquals(List.of(new Pass(all, TILES_M, false)), planWithLists(AUTO, false, true, true, FEW), "4% active: tiles");
        assertEquals(List.of(new Pass(all, ENTRIES_M, false)), planWithLists(AUTO, false, true, true, SOME),
                "8% active: lists (the tiles would pay their atomics, dense its three products)");
        assertEquals(List.of(new Pass(all, ENTRIES_M, false)), planWithLists(AUTO, false, true, true, MANY), "50% active: lists");
        assertEquals(List.of(new Pass(all, DENSE_M, false)), plan(AUTO, false, true, true, MANY), "lists do not apply: dense");
        assertEquals(List.of(new Pass(all, DENSE_M, true)), planWithLists(AUTO, true, false, false, TILES_IN_ALL),
                "exact: dense, nothing dropped");
        assertEquals(List.of(new Pass(all, ENTRIES_M, false)), planWithLists(ENTRIES, false, true, true, FEW), "forced");
        assertEquals(List.of(new Pass(all, DENSE_M, false)), plan(ENTRIES, false, true, true, FEW),
                "forced where the lists do not apply: dense");
        assertEquals(List.of(), planWithLists(AUTO, false, true, true, 0), "nothing active: no pass");
    }

    @Test
    void entryListsBesideAFullGradient() {
        assertEquals(List.of(new Pass(new Sides(0, C, B), DENSE_M, true), new Pass(new Sides(E, 0, 0), ENTRIES_M, false)),
                planWithLists(AUTO, false, true, false, MANY), "dC dense over everything, dE from the lists");
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), DENSE_M, true), new Pass(new Sides(0, C, B), ENTRIES_M, false)),
                planWithLists(ENTRIES, false, false, true, MANY));
    }

    private static List<Pass> plan(CudaCutCrossEntropy.BackwardPath path, boolean exact, boolean filterE, boolean filterC, int count) {
        return BackwardPlan.of(path, exact, filterE, filterC, count, TILES_IN_ALL, false, E, C, B).passes();
    }

    @Test
    void bothFiltersOnIsOnePassAsBefore() {
        assertEquals(List.of(new Pass(new Sides(E, C, B), TILES_M, false)), plan(AUTO, false, true, true, FEW), "few active: tiled");
        assertEquals(List.of(new Pass(new Sides(E, C, B), DENSE_M, false)), plan(AUTO, false, true, true, MANY), "many active: dense");
        assertEquals(List.of(new Pass(new Sides(E, C, B), TILES_M, false)), plan(TILES, false, true, true, MANY));
        assertEquals(List.of(new Pass(new Sides(E, C, B), DENSE_M, false)), plan(DENSE, false, true, true, FEW));
        assertEquals(List.of(), plan(AUTO, false, true, true, 0), "nothing active: no pass");
    }

    @Test
    void nothingFilteredIsEveryTileInOnePass() {
        Pass everything = new Pass(new Sides(E, C, B), DENSE_M, true);
        assertEquals(List.of(everything), plan(AUTO, true, false, false, TILES_IN_ALL), "exact");
        assertEquals(List.of(everything), plan(DENSE, false, false, false, TILES_IN_ALL), "both filters off");
        assertEquals(List.of(new Pass(new Sides(E, C, B), TILES_M, true)), plan(TILES, true, false, false, TILES_IN_ALL));
    }

    @Test
    void fullClassifierGradientBesideAFilteredEmbeddingGradient() {
        assertEquals(List.of(new Pass(new Sides(0, C, B), DENSE_M, true), new Pass(new Sides(E, 0, 0), TILES_M, false)),
                plan(AUTO, false, true, false, FEW), "dC and dBias dense over everything, dE over the planned tiles");
        assertEquals(List.of(new Pass(new Sides(E, C, B), DENSE_M, true)), plan(AUTO, false, true, false, MANY),
                "both dense: one pass");
        assertEquals(List.of(new Pass(new Sides(0, C, B), TILES_M, true), new Pass(new Sides(E, 0, 0), TILES_M, false)),
                plan(TILES, false, true, false, MANY), "tiles forced: every tile for dC, the planned ones for dE");
        assertEquals(List.of(new Pass(new Sides(0, C, B), DENSE_M, true)), plan(DENSE, false, true, false, 0),
                "no tile active for dE: dC is still computed");
    }

    @Test
    void fullEmbeddingGradientBesideAFilteredClassifierGradient() {
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), DENSE_M, true), new Pass(new Sides(0, C, B), TILES_M, false)),
                plan(AUTO, false, false, true, FEW));
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), TILES_M, true), new Pass(new Sides(0, C, B), TILES_M, false)),
                plan(TILES, false, false, true, FEW));
    }

    @Test
    void gradientsNotAskedForAreNotComputed() {
        // a frozen classifier (dC = dBias = 0) with its filter off: only dE, over the planned tiles
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), TILES_M, false)),
                BackwardPlan.of(AUTO, false, true, false, FEW, TILES_IN_ALL, false, E, 0, 0).passes());
        assertEquals(List.of(), BackwardPlan.of(AUTO, false, true, false, FEW, TILES_IN_ALL, false, 0, 0, 0).passes());
    }
}
