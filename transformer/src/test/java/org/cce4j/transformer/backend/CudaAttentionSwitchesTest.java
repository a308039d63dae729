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
    void forwardTakes128QueriesUnless64OrPairedIsAsked() {
        for (String v : new String[] {null, "", "128"}) {
            assertFalse(CudaAttention.pairFromEnv(v), String.valueOf(v));
            assertTrue(CudaAttention.wideFromEnv(v), String.valueOf(v));
        }
        assertTrue(CudaAttention.pairFromEnv("pair"));
        assertEquals(32, CudaAttention.pairKeysFromEnv("pair"));
        assertTrue(CudaAttention.wideFromEnv("pair")); // where the paired kernel does not apply: 128 queries
        assertTrue(CudaAttention.wgmmaFromEnv("wgmma"));
        assertFalse(CudaAttention.pairFromEnv("wgmma"));
        assertTrue(CudaAttention.wideFromEnv("wgmma")); // where the wgmma kernel does not apply: 128 queries
        assertFalse(CudaAttention.wgmmaFromEnv(null));
        assertFalse(CudaAttention.wgmmaFromEnv("pair"));
        assertTrue(CudaAttention.pairFromEnv("pair64"));
        assertEquals(64, CudaAttention.pairKeysFromEnv("pair64"));
        assertFalse(CudaAttention.pairFromEnv("64"));
        assertFalse(CudaAttention.wideFromEnv("64"));
        for (String bad : new String[] {"256", "Pair", "pair32"}) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> CudaAttention.pairFromEnv(bad));
            assertTrue(e.getMessage().contains("CCE4J_ATTN_FWD") && e.getMessage().contains(bad), e.getMessage());
            assertThrows(InvalidInputException.class, () -> CudaAttention.wideFromEnv(bad));
            assertThrows(InvalidInputException.class, () -> CudaAttention.pairKeysFromEnv(bad));
        }
    }

    @Test
    void streamedTilesTakeTwoBuffersUnlessThreeOrFourAreAsked() {
        assertEquals(2, CudaAttention.stagesFromEnv(null));
        assertEquals(2, CudaAttention.stagesFromEnv(""));
        assertEquals(3, CudaAttention.stagesFromEnv("3"));
        assertEquals(4, CudaAttention.stagesFromEnv("4"));
        for (String bad : new String[] {"1", "5", "three"}) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> CudaAttention.stagesFromEnv(bad));
            assertTrue(e.getMessage().contains("CCE4J_ATTN_STAGES") && e.getMessage().contains(bad), e.getMessage());
        }
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
