package org.cce4j.trainer.data;

import org.cce4j.checkpoints.state.TrainingState.DataPosition;
import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Step plans as the train semantics define them: steps of micro_batch_size × grad_accum consecutive
 * rows of the epoch's order, a smaller last step per epoch, never crossing an epoch, capped by
 * max_steps; micro-batches of micro_batch_size with a smaller last; positions that map back to steps.
 * The expected rows are written out by hand from those rules.
 */
class TrainingPlanTest {

    @Test
    void epochsEndWithASmallerStepAndStepsNeverCrossThem() {
        // n = 10, mbs 2, ga 2: R = 4, steps of 4, 4, 2 rows; 3 steps an epoch, 2 epochs
        TrainingPlan plan = new TrainingPlan(10, 2, 2, 2, 0, false, 0);
        assertEquals(4, plan.rowsPerStep());
        assertEquals(3, plan.stepsPerEpoch());
        assertEquals(6, plan.totalSteps());
        assertStep(plan.step(1), 0, 0, new int[][] {{0, 1}, {2, 3}});
        assertStep(plan.step(2), 0, 4, new int[][] {{4, 5}, {6, 7}});
        assertStep(plan.step(3), 0, 8, new int[][] {{8, 9}});
        assertStep(plan.step(4), 1, 0, new int[][] {{0, 1}, {2, 3}});
        assertStep(plan.step(6), 1, 8, new int[][] {{8, 9}});
        assertThrows(IllegalArgumentException.class, () -> plan.step(7));
        assertThrows(IllegalArgumentException.class, () -> plan.step(0));
    }

    @Test
    void theLastMicroBatchOfAStepMayBeSmaller() {
        // n = 10, mbs 3, ga 2: R = 6; step 1 = rows 0..5 in [3, 3], step 2 = rows 6..9 in [3, 1]
        TrainingPlan plan = new TrainingPlan(10, 3, 2, 1, 0, false, 0);
        assertEquals(2, plan.totalSteps());
        assertStep(plan.step(1), 0, 0, new int[][] {{0, 1, 2}, {3, 4, 5}});
        assertStep(plan.step(2), 0, 6, new int[][] {{6, 7, 8}, {9}});
    }

    @Test
    void shuffledStepsTakeTheirRowsThroughEachEpochsOrder() {
        // the orders of (n 10, seed 42) for epochs 0 and 1, from EpochOrderTest's Python
        int[] epoch0 = {5, 3, 1, 0, 7, 4, 6, 8, 2, 9};
        int[] epoch1 = {4, 2, 3, 6, 5, 0, 7, 1, 9, 8};
        TrainingPlan plan = new TrainingPlan(10, 4, 1, 2, 0, true, 42);
        assertEquals(6, plan.totalSteps());
        assertStep(plan.step(1), 0, 0, new int[][] {{epoch0[0], epoch0[1], epoch0[2], epoch0[3]}});
        assertStep(plan.step(3), 0, 8, new int[][] {{epoch0[8], epoch0[9]}});
        assertStep(plan.step(4), 1, 0, new int[][] {{epoch1[0], epoch1[1], epoch1[2], epoch1[3]}});
        assertStep(plan.step(2), 0, 4, new int[][] {{epoch0[4], epoch0[5], epoch0[6], epoch0[7]}}); // back to epoch 0
        assertStep(plan.step(6), 1, 8, new int[][] {{epoch1[8], epoch1[9]}});
    }

    @Test
    void maxStepsEndsTheRunFirstWhenItIsSmaller() {
        TrainingPlan capped = new TrainingPlan(10, 2, 2, 3, 4, false, 0); // 9 steps, capped at 4
        assertEquals(4, capped.totalSteps());
        assertEquals(2, capped.epochsTouched());
        assertStep(capped.step(4), 1, 0, new int[][] {{0, 1}, {2, 3}});
        assertThrows(IllegalArgumentException.class, () -> capped.step(5));
        assertEquals(new DataPosition(1, 4), capped.positionAfter(4));
        TrainingPlan loose = new TrainingPlan(10, 2, 2, 3, 100, false, 0);
        assertEquals(9, loose.totalSteps());
        assertEquals(3, loose.epochsTouched());
    }

    @Test
    void aStepLargerThanTheDataIsTheWholeEpoch() {
        TrainingPlan plan = new TrainingPlan(3, 2, 4, 2, 0, false, 0);
        assertEquals(1, plan.stepsPerEpoch());
        assertEquals(2, plan.totalSteps());
        assertStep(plan.step(2), 1, 0, new int[][] {{0, 1}, {2}});
        assertEquals(new DataPosition(1, 0), plan.positionAfter(1));
    }

    @Test
    void positionsMapBackToTheNextStep() {
        TrainingPlan plan = new TrainingPlan(10, 2, 2, 2, 0, true, 5);
        assertEquals(new DataPosition(0, 0), plan.positionAfter(0));
        assertEquals(new DataPosition(0, 4), plan.positionAfter(1));
        assertEquals(new DataPosition(0, 8), plan.positionAfter(2));
        assertEquals(new DataPosition(1, 0), plan.positionAfter(3)); // the end of epoch 0
        assertEquals(new DataPosition(2, 0), plan.positionAfter(6));
        for (long s = 0; s <= plan.totalSteps(); s++) {
            assertEquals(s + 1, plan.nextStep(plan.positionAfter(s)), "after step " + s);
        }
        assertEquals(4, plan.nextStep(new DataPosition(0, 10))); // an epoch's end written as (e, n)
        assertEquals(7, plan.nextStep(new DataPosition(2, 0))); // the run is complete
    }

    @Test
    void aPositionOffTheStepsIsAUserError() {
        TrainingPlan plan = new TrainingPlan(10, 2, 2, 2, 0, false, 0);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> plan.nextStep(new DataPosition(1, 6)));
        assertTrue(e.getMessage().contains("(epoch 1, row 6) is not at a step boundary of this run (4 rows a step)"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> plan.nextStep(new DataPosition(0, 11)));
        assertThrows(InvalidInputException.class, () -> plan.nextStep(new DataPosition(-1, 0)));
    }

    @Test
    void optionsOutOfRangeNameTheOption() {
        assertEquals("train.micro_batch_size must be >= 1, got 0",
                assertThrows(InvalidInputException.class, () -> new TrainingPlan(10, 0, 1, 1, 0, false, 0)).getMessage());
        assertEquals("train.grad_accum must be >= 1, got 0",
                assertThrows(InvalidInputException.class, () -> new TrainingPlan(10, 1, 0, 1, 0, false, 0)).getMessage());
        assertEquals("train.epochs must be >= 1, got 0",
                assertThrows(InvalidInputException.class, () -> new TrainingPlan(10, 1, 1, 0, 0, false, 0)).getMessage());
        assertEquals("train.max_steps must be >= 0 (0 = no limit), got -1",
                assertThrows(InvalidInputException.class, () -> new TrainingPlan(10, 1, 1, 1, -1, false, 0)).getMessage());
        assertThrows(InvalidInputException.class, () -> new TrainingPlan(0, 1, 1, 1, 0, false, 0));
    }

    private static void assertStep(Step step, int epoch, int start, int[][] micro) {
        assertEquals(epoch, step.epoch(), "epoch of step " + step.number());
        assertEquals(start, step.start(), "start of step " + step.number());
        List<int[]> got = step.microBatches();
        assertEquals(micro.length, got.size(), "micro-batches of step " + step.number());
        int rows = 0;
        for (int i = 0; i < micro.length; i++) {
            assertArrayEquals(micro[i], got.get(i), "micro-batch " + i + " of step " + step.number());
            for (int r : micro[i]) assertEquals(r, step.rows()[rows++], "rows of step " + step.number());
        }
        assertEquals(rows, step.rows().length);
        assertEquals(start + rows, step.end());
    }
}
