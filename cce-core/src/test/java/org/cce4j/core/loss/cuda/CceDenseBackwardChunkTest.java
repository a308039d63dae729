package org.cce4j.core.loss.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dense backward's chunk sizes: within the workspace, whole 256-entry tiles, enough rows. */
class CceDenseBackwardChunkTest {
    private static final long MIB = 1 << 20;

    @Test
    void realShapesTakeAllRowsUpTo8192AndWholeTiles() {
        assertArrayEquals(new int[] {8192, 4096}, CceDenseBackward.chunk(8192, 256000, 128 * MIB)); // Gemma 2 2B head
        assertArrayEquals(new int[] {8192, 4096}, CceDenseBackward.chunk(51200, 128256, 128 * MIB)); // Llama 3.2 1B, batch 25
        assertArrayEquals(new int[] {2048, 8192}, CceDenseBackward.chunk(2048, 128256, 128 * MIB)); // at most 8192 entries
    }

    @Test
    void smallProblemsFitInOneChunk() {
        assertArrayEquals(new int[] {50, 300}, CceDenseBackward.chunk(50, 300, 128 * MIB));
        assertArrayEquals(new int[] {1, 77}, CceDenseBackward.chunk(1, 77, 128 * MIB));
    }

    @Test
    void aSmallWorkspaceCutsRowsAsWellAsEntries() {
        int[] c = CceDenseBackward.chunk(602, 1500, 64 << 10);
        assertArrayEquals(new int[] {64, 256}, c);
        for (int[] nv : new int[][] {{602, 1500}, {8192, 256000}, {33, 140}, {5000, 100}}) {
            int[] k = CceDenseBackward.chunk(nv[0], nv[1], 64 << 10);
            assertTrue(k[0] >= 1 && k[0] <= nv[0] && k[1] >= 1 && k[1] <= nv[1], "chunk inside the problem");
            assertTrue(k[1] <= CceDenseBackward.MAX_CHUNK_VOCAB, "columns the gradient kernel can hold");
            assertTrue(4L * k[0] * k[1] <= Math.max(64 << 10, 4L * 16 * 256), "workspace respected");
        }
    }
}
