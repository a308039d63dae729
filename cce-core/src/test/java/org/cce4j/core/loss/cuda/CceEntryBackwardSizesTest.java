package org.cce4j.core.loss.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The entry-list backward's bounds (no GPU needed): a row's capacity from Σp = 1, where the path
 * applies, and chunks that keep the lists and the logits within their budgets.
 */
class CceEntryBackwardSizesTest {
    private static final long MIB = 1 << 20;
    private static final float BF16_EPS = 0x1p-12f, F16_EPS = 0x1p-15f, F32_EPS = 0x1p-28f;

    @Test
    void capacityFollowsFromTheProbabilitiesSummingToOne() {
        assertEquals(4102, CceEntryBackward.capacity(BF16_EPS, 0f, 1f, 256000), "⌊1.001·4096⌋ + 2");
        assertEquals(300, CceEntryBackward.capacity(BF16_EPS, 0f, 1f, 300), "never more than the vocabulary");
        assertEquals(32802, CceEntryBackward.capacity(F16_EPS, 0f, 1f, 256000));
        // z-loss scales p by 1 + 2λ·lse: the bound scales with it
        assertEquals((long) Math.floor(1.5 * 1.001 * 4096) + 2, CceEntryBackward.capacity(BF16_EPS, 0f, 1.5f, 256000));
        // label smoothing's α/V only raises the bar for a kept entry (|p·mul − α/V| ≥ eps means p·mul ≥ eps + α/V)...
        float aov = 0.1f / 128256;
        assertTrue(CceEntryBackward.capacity(BF16_EPS, aov, 1f, 128256) <= 4102);
        // ...until α/V reaches eps, when every entry is kept
        assertEquals(1000, CceEntryBackward.capacity(BF16_EPS, 0.5f / 1000, 1f, 1000));
        // a lower dE threshold (CCE4J_ENTRIES_E_FACTOR=4) sizes the lists by what it keeps: 16,402 at bf16's / 4
        assertEquals(16402, CceEntryBackward.capacity(BF16_EPS / 4, 0f, 1f, 256000));
    }

    @Test
    void theListsApplyToNarrowInputsOnly() {
        assertTrue(CceEntryBackward.applies(BF16_EPS, 0f, 1f, 256000));
        assertTrue(CceEntryBackward.applies(F16_EPS, 0f, 1f, 256000));
        assertFalse(CceEntryBackward.applies(F32_EPS, 0f, 1f, 256000), "f32's threshold bounds nothing useful");
        assertFalse(CceEntryBackward.applies(0f, 0f, 1f, 256000), "no filter: nothing to list");
        assertFalse(CceEntryBackward.applies(BF16_EPS, 0.5f / 1000, 1f, 1000), "smoothing keeps every entry");
    }

    @Test
    void chunksKeepTheListsAndTheLogitsWithinBudget() {
        // Gemma 2 2B's head, bf16: 4,098 entries per row → 4,080 rows of lists in 128 MiB, 8192 columns of logits
        int[] g = CceEntryBackward.chunk(8192, 256000, 4098, 128 * MIB, 128 * MIB);
        assertArrayEquals(new int[] {4080, 8192}, g);
        assertArrayEquals(new int[] {50, 300}, CceEntryBackward.chunk(50, 300, 300, 128 * MIB, 128 * MIB));
        for (long cap : new long[] {300, 4098, 32803}) {
            for (int[] nv : new int[][] {{602, 1500}, {8192, 256000}, {33, 140}, {65536, 128256}}) {
                int[] k = CceEntryBackward.chunk(nv[0], nv[1], Math.min(cap, nv[1]), 64 << 10, 1 * MIB);
                assertTrue(k[0] >= 1 && k[0] <= nv[0] && k[1] >= 1 && k[1] <= nv[1], "chunk inside the problem");
                assertTrue(k[1] <= CceDenseBackward.MAX_CHUNK_VOCAB, "columns per launch bounded");
                assertTrue(8L * k[0] * Math.min(cap, nv[1]) <= Math.max(1 * MIB, 8L * 16 * cap), "list budget respected");
            }
        }
    }
}
