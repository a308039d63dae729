package org.cce4j.core.loss.cpu;

import org.cce4j.core.cpu.Blocks;
import org.cce4j.core.cpu.CpuKernels;

/**
 * How the CPU loss cuts its work: rows (tokens) into groups whose E block stays in cache while the
 * vocabulary streams past, the vocabulary into groups (one per task) and blocks (one logit tile).
 * <pre>
 *   rowsPerGroup  multiple of nr, at most 128: Eᵀ block [D × rows] reused for a whole vocab group
 *   vocabBlock    128 entries: C rows [128 × D] copied once, one logit tile [128 × rows]
 *   groups        enough of each for two tasks per thread in every round of the LatinSchedule
 * </pre>
 */
record CceBlocking(int rowCount, int vocab, int dim, int dimPad, int nr,
                   int rowsPerGroup, int rowGroups, int vocabBlock, int vocabGroups, int vocabPerGroup) {

    static final int MAX_ROWS_PER_GROUP = 128;
    static final int VOCAB_BLOCK = 128;

    static CceBlocking of(int rowCount, int vocab, int dim, int nr, int threads) {
        int dimPad = Blocks.roundUp(dim, nr);
        int wantGroups = Math.max(1, 2 * threads);
        int rowsPerGroup = Blocks.roundUp(Math.max(1, Blocks.ceilDiv(rowCount, wantGroups)), nr);
        rowsPerGroup = Math.min(rowsPerGroup, Blocks.roundUp(MAX_ROWS_PER_GROUP, nr));
        int rowGroups = Math.max(1, Blocks.ceilDiv(rowCount, rowsPerGroup));
        int vocabBlock = Blocks.roundUp(VOCAB_BLOCK, CpuKernels.MR);
        int vocabGroups = Math.max(1, Math.min(Blocks.ceilDiv(vocab, vocabBlock), wantGroups));
        int vocabPerGroup = Blocks.roundUp(Blocks.ceilDiv(vocab, vocabGroups), vocabBlock);
        vocabGroups = Blocks.ceilDiv(vocab, vocabPerGroup);
        return new CceBlocking(rowCount, vocab, dim, dimPad, nr, rowsPerGroup, rowGroups, vocabBlock, vocabGroups, vocabPerGroup);
    }

    int rowFrom(int group) {
        return group * rowsPerGroup;
    }

    int rowTo(int group) {
        return Math.min(rowCount, (group + 1) * rowsPerGroup);
    }

    int vocabFrom(int group) {
        return group * vocabPerGroup;
    }

    int vocabTo(int group) {
        return Math.min(vocab, (group + 1) * vocabPerGroup);
    }


}
