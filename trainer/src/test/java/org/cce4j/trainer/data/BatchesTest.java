package org.cce4j.trainer.data;

import org.cce4j.transformer.model.Batch;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Micro-batches padded on the right to their longest row (pad id, label -100, keyMask false),
 * positions 0..T-1, and target counts #{t >= 1 : labels[t] != -100} per micro-batch and per step.
 */
class BatchesTest {
    private static final int PAD = 0;

    private static TokenRows rows() {
        return new InMemoryTokenRows.Builder()
                .add(new int[] {11, 12, 13, 14}, null)                     // 0: 3 targets
                .add(new int[] {21, 22}, new int[] {-100, 22})             // 1: 1 target
                .add(new int[] {31, 32, 33}, new int[] {31, -100, 33})     // 2: 1 target
                .add(new int[] {41, 42, 43, 44}, new int[] {-100, 42, 43, -100}) // 3: 2 targets
                .add(new int[] {51, 52, 53, 54, 55}, null)                 // 4: 4 targets
                .build();
    }

    @Test
    void aMicroBatchIsPaddedOnTheRightToItsLongestRow() {
        MicroBatch m = Batches.microBatch(rows(), new int[] {1, 0, 2}, PAD);
        Batch b = m.batch();
        assertEquals(3, b.batch());
        assertEquals(4, b.seqLen());
        assertArrayEquals(new int[] {21, 22, PAD, PAD, 11, 12, 13, 14, 31, 32, 33, PAD}, b.inputIds());
        assertArrayEquals(new long[] {-100, 22, -100, -100, 11, 12, 13, 14, 31, -100, 33, -100}, b.labels());
        assertArrayEquals(new boolean[] {true, true, false, false, true, true, true, true, true, true, true, false}, b.keyMask());
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}, b.positions());
        assertNull(b.documents());
        assertArrayEquals(new int[] {1, 0, 2}, m.rows());
        assertEquals(1 + 3 + 1, m.targets());
    }

    @Test
    void rowsOfOneLengthNeedNoMask() {
        MicroBatch m = Batches.microBatch(rows(), new int[] {3, 0}, 7);
        assertNull(m.batch().keyMask());
        assertArrayEquals(new int[] {41, 42, 43, 44, 11, 12, 13, 14}, m.batch().inputIds());
        assertArrayEquals(new long[] {-100, 42, 43, -100, 11, 12, 13, 14}, m.batch().labels());
        assertEquals(2 + 3, m.targets());
    }

    @Test
    void thePadTokenIsTheOneGiven() {
        Batch b = Batches.microBatch(rows(), new int[] {0, 1}, 99).batch();
        assertArrayEquals(new int[] {11, 12, 13, 14, 21, 22, 99, 99}, b.inputIds());
    }

    @Test
    void aStepsTargetCountIsOverAllItsMicroBatches() {
        TrainingPlan plan = new TrainingPlan(5, 2, 2, 1, 0, false, 0); // step 1: [0, 1], [2, 3]; step 2: [4]
        TokenRows rows = rows();
        StepBatches s1 = Batches.of(rows, plan.step(1), PAD);
        assertEquals(2, s1.microBatches().size());
        assertEquals(List.of(4L, 3L), s1.microBatches().stream().map(MicroBatch::targets).toList());
        assertEquals(7, s1.targets());
        assertEquals(7, Batches.targets(rows, plan.step(1).rows()));
        assertEquals(4, s1.microBatches().get(0).batch().seqLen()); // each micro-batch pads to its own longest row
        assertEquals(4, s1.microBatches().get(1).batch().seqLen());
        StepBatches s2 = Batches.of(rows, plan.step(2), PAD);
        assertEquals(1, s2.microBatches().size());
        assertEquals(4, s2.targets());
        assertEquals(5, s2.microBatches().get(0).batch().seqLen());
        assertNull(s2.microBatches().get(0).batch().keyMask());
    }

    @Test
    void targetCountsAgreeWithTheLabelsTheModelShifts() {
        // the model's targets are labels[b*T + t + 1] for t < T-1 that are not -100: count them in the padded batch
        MicroBatch m = Batches.microBatch(rows(), new int[] {4, 1, 2, 3}, PAD);
        Batch b = m.batch();
        long counted = 0;
        for (int r = 0; r < b.batch(); r++) {
            for (int t = 1; t < b.seqLen(); t++) if (b.labels()[r * b.seqLen() + t] != -100) counted++;
        }
        assertEquals(counted, m.targets());
        assertEquals(4 + 1 + 1 + 2, m.targets());
    }
}
