package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.InMemoryTokenRows;
import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.Padding;
import org.cce4j.trainer.data.TokenRows;
import org.cce4j.transformer.model.Batch;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Packed micro-batches laid out as PackedBatches draws them, written out by hand: documents one after
 * the other, positions restarting, document ids, each document's first label -100 (DataCollatorWithFlattening's
 * separator), pads with their own id and keyMask false, and the targets and padding of the result.
 */
class PackedBatchesTest {
    private static final int PAD = 0;

    private static TokenRows rows() {
        return new InMemoryTokenRows.Builder()
                .add(new int[] {11, 12, 13}, null)                         // 0: 2 targets
                .add(new int[] {21, 22}, new int[] {-100, 22})             // 1: 1 target
                .add(new int[] {31, 32, 33}, new int[] {31, -100, 33})     // 2: 1 target
                .add(new int[] {41, 42, 43, 44, 45}, null)                 // 3: 4 targets
                .build();
    }

    @Test
    void documentsFollowEachOtherWithTheirOwnPositionsAndIds() {
        MicroBatch m = PackedBatches.microBatch(rows(), List.of(new int[] {0, 1}, new int[] {2}), PAD);
        Batch b = m.batch();
        assertEquals(2, b.batch());
        assertEquals(5, b.seqLen());
        assertArrayEquals(new int[] {11, 12, 13, 21, 22, /**/ 31, 32, 33, PAD, PAD}, b.inputIds());
        assertArrayEquals(new long[] {-100, 12, 13, -100, 22, /**/ -100, -100, 33, -100, -100}, b.labels());
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, /**/ 0, 1, 2, 0, 1}, b.positions());
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, /**/ 0, 0, 0, 1, 1}, b.documents());
        assertArrayEquals(new boolean[] {true, true, true, true, true, /**/ true, true, true, false, false}, b.keyMask());
        assertArrayEquals(new int[] {0, 1, 2}, m.rows());
        assertEquals(2 + 1 + 1, m.targets());
        assertEquals(new Padding(2, 10), m.padding());
    }

    @Test
    void theLastTokenOfADocumentPredictsNothing() {
        // position t predicts labels[t+1]: the label after each document's last token must be -100
        MicroBatch m = PackedBatches.microBatch(rows(), List.of(new int[] {3, 0, 1, 2}), PAD);
        Batch b = m.batch();
        int[] docs = b.documents();
        long counted = 0;
        for (int t = 0; t + 1 < b.seqLen(); t++) {
            if (docs[t] != docs[t + 1]) assertEquals(-100, b.labels()[t + 1], "label after the last token of document " + docs[t]);
            if (b.labels()[t + 1] != -100) counted++;
        }
        assertEquals(counted, m.targets());
        assertEquals(4 + 2 + 1 + 1, m.targets());
    }

    @Test
    void packsOfOneLengthNeedNoMask() {
        MicroBatch m = PackedBatches.microBatch(rows(), List.of(new int[] {0, 1}, new int[] {3}), PAD);
        assertNull(m.batch().keyMask());
        assertEquals(new Padding(0, 10), m.padding());
        assertEquals(0.0, m.padding().fraction());
    }
}
