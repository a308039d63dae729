package org.cce4j.transformer.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The host-side tables the CUDA attention kernels skip work by (no GPU needed). */
class DeviceArraysTest {

    @Test
    void documentBoundsPerSequence() {
        // two sequences of 5: documents 7 7 8 8 8 | 1 2 2 1 3 (ids may repeat non-contiguously)
        int[] docs = {7, 7, 8, 8, 8, 1, 2, 2, 1, 3};
        int[][] b = DeviceArrays.bounds(docs, 5);
        assertArrayEquals(new int[] {0, 0, 2, 2, 2, 0, 1, 1, 0, 4}, b[0], "first position of each token's document");
        assertArrayEquals(new int[] {2, 2, 5, 5, 5, 4, 3, 3, 4, 5}, b[1], "one past the last position of each token's document");
    }

    @Test
    void blocksOfOneDocumentWithoutPadding() {
        // blocks of 2 over two sequences of 5: [0,2) [2,4) [4,5) per sequence; the last is partial
        // (a negative document id never takes the fast path)
        int[] docs = {4, 4, 4, 5, 5, -3, -3, 1, 1, 2};
        boolean[] mask = {true, true, true, true, true, false, true, true, true, true};
        assertArrayEquals(new int[] {4, -1, -1, -1, 1, -1}, DeviceArrays.blockDocuments(docs, null, 2, 5, 2));
        assertArrayEquals(new int[] {4, -1, -1, -1, 1, -1}, DeviceArrays.blockDocuments(docs, mask, 2, 5, 2));
        assertArrayEquals(new int[] {0, 0, -1, -1, 0, -1}, DeviceArrays.blockDocuments(null, mask, 2, 5, 2));
    }
}
