package org.cce4j.core.loss.cuda;

import org.cce4j.core.loss.cuda.BackwardPlan.Pass;
import org.cce4j.core.loss.cuda.BackwardPlan.Sides;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.AUTO;
import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.DENSE;
import static org.cce4j.core.loss.cuda.CudaCutCrossEntropy.BackwardPath.TILES;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The passes of the CUDA cce backward for every combination that matters (no GPU needed): with
 * both filters on it is the backward as before; a gradient whose filter is off is computed over
 * every tile and the other over the planned ones; nothing is computed twice or left out.
 */
class BackwardPlanTest {
    private static final long E = 0x1000, C = 0x2000, B = 0x3000;
    private static final int TILES_IN_ALL = 1000, FEW = 50, MANY = 500; // 5% and 50% active

    private static List<Pass> plan(CudaCutCrossEntropy.BackwardPath path, boolean exact, boolean filterE, boolean filterC, int count) {
        return BackwardPlan.of(path, exact, filterE, filterC, count, TILES_IN_ALL, E, C, B).passes();
    }

    @Test
    void bothFiltersOnIsOnePassAsBefore() {
        assertEquals(List.of(new Pass(new Sides(E, C, B), false, false)), plan(AUTO, false, true, true, FEW), "few active: tiled");
        assertEquals(List.of(new Pass(new Sides(E, C, B), true, false)), plan(AUTO, false, true, true, MANY), "many active: dense");
        assertEquals(List.of(new Pass(new Sides(E, C, B), false, false)), plan(TILES, false, true, true, MANY));
        assertEquals(List.of(new Pass(new Sides(E, C, B), true, false)), plan(DENSE, false, true, true, FEW));
        assertEquals(List.of(), plan(AUTO, false, true, true, 0), "nothing active: no pass");
    }

    @Test
    void nothingFilteredIsEveryTileInOnePass() {
        Pass everything = new Pass(new Sides(E, C, B), true, true);
        assertEquals(List.of(everything), plan(AUTO, true, false, false, TILES_IN_ALL), "exact");
        assertEquals(List.of(everything), plan(DENSE, false, false, false, TILES_IN_ALL), "both filters off");
        assertEquals(List.of(new Pass(new Sides(E, C, B), false, true)), plan(TILES, true, false, false, TILES_IN_ALL));
    }

    @Test
    void fullClassifierGradientBesideAFilteredEmbeddingGradient() {
        assertEquals(List.of(new Pass(new Sides(0, C, B), true, true), new Pass(new Sides(E, 0, 0), false, false)),
                plan(AUTO, false, true, false, FEW), "dC and dBias dense over everything, dE over the planned tiles");
        assertEquals(List.of(new Pass(new Sides(E, C, B), true, true)), plan(AUTO, false, true, false, MANY),
                "both dense: one pass");
        assertEquals(List.of(new Pass(new Sides(0, C, B), false, true), new Pass(new Sides(E, 0, 0), false, false)),
                plan(TILES, false, true, false, MANY), "tiles forced: every tile for dC, the planned ones for dE");
        assertEquals(List.of(new Pass(new Sides(0, C, B), true, true)), plan(DENSE, false, true, false, 0),
                "no tile active for dE: dC is still computed");
    }

    @Test
    void fullEmbeddingGradientBesideAFilteredClassifierGradient() {
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), true, true), new Pass(new Sides(0, C, B), false, false)),
                plan(AUTO, false, false, true, FEW));
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), false, true), new Pass(new Sides(0, C, B), false, false)),
                plan(TILES, false, false, true, FEW));
    }

    @Test
    void gradientsNotAskedForAreNotComputed() {
        // a frozen classifier (dC = dBias = 0) with its filter off: only dE, over the planned tiles
        assertEquals(List.of(new Pass(new Sides(E, 0, 0), false, false)),
                BackwardPlan.of(AUTO, false, true, false, FEW, TILES_IN_ALL, E, 0, 0).passes());
        assertEquals(List.of(), BackwardPlan.of(AUTO, false, true, false, FEW, TILES_IN_ALL, 0, 0, 0).passes());
    }
}
