package org.cce4j.transformer.backend;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The embedding's backward as torch's nn.Embedding(padding_idx=p) computes it: every looked-up row gets
 * dOut · scale added, once per occurrence, except row p, which lookups never train (transformers builds the
 * embedding with the config's pad_token_id as padding_idx, for real tokens equal to it too).
 */
class EmbeddingPaddingIdxTest {
    @Test
    void thePaddingRowGetsNothingAndTheOthersTheirSums() {
        CpuBackend be = new CpuBackend();
        int[] ids = {3, 0, 3, 1, 0};
        int vocab = 4, d = 2;
        float[] g = new float[ids.length * d];
        for (int i = 0; i < g.length; i++) g[i] = i + 1;
        try (Tensor dOut = Tensor.of(g, ids.length, d); Tensor dTable = Tensor.zeros(DType.F32, vocab, d);
             Tensor dAll = Tensor.zeros(DType.F32, vocab, d)) {
            be.embeddingBackward(ids, dOut, 0.5f, dTable, 0);
            be.embeddingBackward(ids, dOut, 0.5f, dAll, -1);
            // row 3: tokens 0 and 2 -> (1+5, 2+6)·0.5; row 1: token 3 -> (7, 8)·0.5; row 0 (padding): nothing; row 2: unused
            float[] expected = {0, 0, 3.5f, 4, 0, 0, 3, 4};
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], dTable.getFloat(i), "element " + i);
            assertEquals((3 + 9) * 0.5f, dAll.getFloat(0), "without a padding index, row 0 gets positions 1 and 4");
        }
    }
}
