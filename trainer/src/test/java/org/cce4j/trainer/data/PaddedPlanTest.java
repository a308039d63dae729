package org.cce4j.trainer.data;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The unpacked plan's padding: every row padded to its micro-batch's longest, counted from the lengths
 * alone, equal to the padding of the batches Batches builds; and its steps are TrainingPlan's.
 */
class PaddedPlanTest {

    private static TokenRows rows(int... lengths) {
        InMemoryTokenRows.Builder b = new InMemoryTokenRows.Builder();
        for (int len : lengths) {
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) ids[t] = 1 + t;
            b.add(ids, null);
        }
        return b.build();
    }

    @Test
    void paddingIsCountedAgainstEachMicroBatchsLongestRow() {
        // lengths 4 2 3 5 1, mbs 2, ga 2, file order: step 1 = [4 2] [3 5], step 2 = [1]
        // [4 2]: 8 tokens, 2 pad; [3 5]: 10, 2 pad; [1]: 1, 0 pad → 4 of 19
        PaddedPlan plan = new PaddedPlan(new TrainingPlan(5, 2, 2, 1, 0, false, 0), rows(4, 2, 3, 5, 1));
        assertEquals(new Padding(4, 19), plan.padding(0));
        assertEquals(new Padding(4, 18), plan.batches(1, 0).padding());
        assertEquals(new Padding(0, 1), plan.batches(2, 0).padding());
        assertEquals(4.0 / 19, plan.padding(0).fraction(), 1e-15);
    }

    @Test
    void theEpochsPaddingIsThatOfItsBatches() {
        SplittableRandom r = new SplittableRandom(1);
        int[] lengths = new int[101];
        for (int i = 0; i < lengths.length; i++) lengths[i] = 2 + r.nextInt(40);
        TokenRows rows = rows(lengths);
        PaddedPlan plan = new PaddedPlan(new TrainingPlan(rows.size(), 4, 3, 2, 0, true, 5), rows);
        for (int epoch = 0; epoch < 2; epoch++) {
            Padding sum = Padding.NONE;
            for (long s = (long) epoch * plan.stepsPerEpoch() + 1; s <= (long) (epoch + 1) * plan.stepsPerEpoch(); s++) {
                sum = sum.plus(plan.batches(s, 0).padding());
            }
            assertEquals(sum, plan.padding(epoch), "epoch " + epoch);
        }
    }
}
