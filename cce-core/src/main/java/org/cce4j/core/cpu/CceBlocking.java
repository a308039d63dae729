package org.cce4j.core.cpu;

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
        int dimPad = roundUp(dim, nr);
        int wantGroups = Math.max(1, 2 * threads);
        int rowsPerGroup = roundUp(Math.max(1, ceilDiv(rowCount, wantGroups)), nr);
        rowsPerGroup = Math.min(rowsPerGroup, roundUp(MAX_ROWS_PER_GROUP, nr));
        int rowGroups = Math.max(1, ceilDiv(rowCount, rowsPerGroup));
        int vocabBlock = roundUp(VOCAB_BLOCK, CpuKernels.MR);
        int vocabGroups = Math.max(1, Math.min(ceilDiv(vocab, vocabBlock), wantGroups));
        int vocabPerGroup = roundUp(ceilDiv(vocab, vocabGroups), vocabBlock);
        vocabGroups = ceilDiv(vocab, vocabPerGroup);
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

    static int roundUp(int x, int multiple) {
        return ceilDiv(x, multiple) * multiple;
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
