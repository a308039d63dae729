package org.cce4j.core.loss.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launch geometry of the CCE kernels (no GPU needed). */
class CceKernelsTest {

    @Test
    void splitsFillWholeWaves() {
        // 64 row blocks over 1000 tiles on 132 SMs: 2 splits give one wave of 128 CTAs × 500 tiles
        assertEquals(2, CceKernels.splits(64, 1000, 132));
        assertEquals(1, CceKernels.splits(1000, 1, 132));
        int s = CceKernels.splits(3, 7, 8);
        assertTrue(s >= 1 && s <= 7);
    }
}
