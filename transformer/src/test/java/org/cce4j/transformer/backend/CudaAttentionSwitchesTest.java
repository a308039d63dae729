package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The environment switches of the CUDA attention (CCE4J_ATTN_FWD, CCE4J_ATTN_BWD, CCE4J_ATTN_BWD_CTAS) as CudaAttention
 * reads them: no GPU needed. A misspelt value is a user error naming the variable, not a silent default.
 */
class CudaAttentionSwitchesTest {
    @Test
    void backwardPathIsFusedUnlessSplitIsAsked() {
        assertTrue(CudaAttention.fusedFromEnv(null));
        assertTrue(CudaAttention.fusedFromEnv(""));
        assertTrue(CudaAttention.fusedFromEnv("fused"));
        assertFalse(CudaAttention.fusedFromEnv("split"));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> CudaAttention.fusedFromEnv("fast"));
        assertTrue(e.getMessage().contains("CCE4J_ATTN_BWD"), e.getMessage());
    }

    @Test
    void forwardTakes128QueriesUnless64IsAsked() {
        assertTrue(CudaAttention.wideFromEnv(null));
        assertTrue(CudaAttention.wideFromEnv("128"));
        assertFalse(CudaAttention.wideFromEnv("64"));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> CudaAttention.wideFromEnv("256"));
        assertTrue(e.getMessage().contains("CCE4J_ATTN_FWD"), e.getMessage());
    }

    @Test
    void ctasPerSmAreACountOrTheDefault() {
        assertEquals(0, CudaAttention.ctasFromEnv(null));
        assertEquals(2, CudaAttention.ctasFromEnv("2"));
        assertThrows(InvalidInputException.class, () -> CudaAttention.ctasFromEnv("0"));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> CudaAttention.ctasFromEnv("two"));
        assertTrue(e.getMessage().contains("CCE4J_ATTN_BWD_CTAS"), e.getMessage());
    }
}
