package org.cce4j.core.loss.cpu;

import org.cce4j.core.cpu.Blocks;

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


    void reserve(int nPad, int dimPad, int vbPad, boolean backward) {
        eRows = Blocks.ensure(eRows, nPad * dimPad);
        eT = Blocks.ensure(eT, nPad * dimPad);
        cRows = Blocks.ensure(cRows, vbPad * dimPad);
        zT = Blocks.ensure(zT, vbPad * nPad);
        colA = Blocks.ensure(colA, nPad);
        colB = Blocks.ensure(colB, nPad);
        colC = Blocks.ensure(colC, nPad);
        colD = Blocks.ensure(colD, nPad);
        colE = Blocks.ensure(colE, nPad);
        rowA = Blocks.ensure(rowA, vbPad);
        if (backward) {
            deTile = Blocks.ensure(deTile, nPad * dimPad);
            dcTile = Blocks.ensure(dcTile, vbPad * dimPad);
            facT = Blocks.ensure(facT, vbPad * nPad);
        }
    }
}
