package org.cce4j.core.cpu;

/**
 * The per-thread working set of one loss task, kept between tasks and grown on demand: its size
 * depends on the blocking (rows per group × D, vocab block × D), never on N or V, so the loss uses
 * O(threads × block) scratch memory.
 */
final class TileScratch {
    private static final ThreadLocal<TileScratch> LOCAL = ThreadLocal.withInitial(TileScratch::new);

    /** E rows of the group, row-major [nPad × dimPad]. */
    float[] eRows;
    /** Eᵀ of the group as micro-panels [nPad/nr][dimPad][nr]: the B operand of the logit product. */
    float[] eT;
    /** C rows of the vocabulary block, row-major [vbPad × dimPad]. */
    float[] cRows;
    /** Logits (then gradients) of the block, vocabulary-major [vbPad × nPad]. */
    float[] zT;
    /** Softcap derivatives of the block [vbPad × nPad]. */
    float[] facT;
    /** dE accumulated over the task's vocabulary group [nPad × dimPad]. */
    float[] deTile;
    /** dC of one block [vbPad × dimPad]. */
    float[] dcTile;
    /** Per-column (token) vectors [nPad]. */
    float[] colA, colB, colC, colD, colE;
    /** Per-row (vocabulary entry) flags and sums [vbPad]. */
    float[] rowA;

    static TileScratch get() {
        return LOCAL.get();
    }

    static float[] ensure(float[] a, int n) {
        return a != null && a.length >= n ? a : new float[Math.max(n, 16)];
    }

    void reserve(int nPad, int dimPad, int vbPad, boolean backward) {
        eRows = ensure(eRows, nPad * dimPad);
        eT = ensure(eT, nPad * dimPad);
        cRows = ensure(cRows, vbPad * dimPad);
        zT = ensure(zT, vbPad * nPad);
        colA = ensure(colA, nPad);
        colB = ensure(colB, nPad);
        colC = ensure(colC, nPad);
        colD = ensure(colD, nPad);
        colE = ensure(colE, nPad);
        rowA = ensure(rowA, vbPad);
        if (backward) {
            deTile = ensure(deTile, nPad * dimPad);
            dcTile = ensure(dcTile, vbPad * dimPad);
            facT = ensure(facT, vbPad * nPad);
        }
    }
}
