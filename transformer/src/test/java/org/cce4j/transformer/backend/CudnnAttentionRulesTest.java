package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which attention calls go to cuDNN (CPU only: the rule, not the kernels, which CudaBackendTest runs on a
 * GPU against the CPU's attention): the masks cuDNN's graph describes (causal, with a softcap, a window no
 * shorter than the sequence) and not the ones it does not (a shorter window, packed documents, padding).
 */
class CudnnAttentionRulesTest {
    private static AttentionShape shape(int hd, float softcap, int window, int[] docs, boolean[] mask) {
        return new AttentionShape(2, 8, 4, 2, hd, 0.125f, softcap, window, docs, mask);
    }

    @Test
    void coversCausalAttentionWithOrWithoutASoftcap() {
        assertTrue(CudnnAttention.covers(shape(64, 0, 0, null, null)));
        assertTrue(CudnnAttention.covers(shape(256, 50f, 0, null, null)));
        assertTrue(CudnnAttention.covers(shape(128, 0, 8, null, null)), "a window as long as the sequence masks nothing");
        assertTrue(CudnnAttention.covers(shape(8, 0, 0, null, null)));
    }

    @Test
    void leavesOtherMasksAndHeadSizesToOurKernels() {
        assertFalse(CudnnAttention.covers(shape(64, 0, 7, null, null)), "a window shorter than the sequence");
        assertFalse(CudnnAttention.covers(shape(64, 0, 0, new int[16], null)), "packed documents");
        assertFalse(CudnnAttention.covers(shape(64, 0, 0, null, new boolean[16])), "a padding mask");
        assertFalse(CudnnAttention.covers(shape(60, 0, 0, null, null)), "a head size that is not a multiple of 8");
        assertFalse(CudnnAttention.covers(shape(264, 0, 0, null, null)), "a head size above 256");
    }

    @Test
    void theSwitchReadsItsThreeValuesAndNamesItselfOtherwise() {
        assertEquals(CudnnAttention.Mode.AUTO, CudnnAttention.modeFromEnv("auto"));
        assertEquals(CudnnAttention.Mode.ON, CudnnAttention.modeFromEnv("on"));
        assertEquals(CudnnAttention.Mode.OFF, CudnnAttention.modeFromEnv("off"));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> CudnnAttention.modeFromEnv("yes"));
        assertTrue(e.getMessage().contains("CCE4J_ATTN_CUDNN"), e.getMessage());
    }
}
