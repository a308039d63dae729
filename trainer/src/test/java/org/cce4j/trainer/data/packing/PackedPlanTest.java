package org.cce4j.trainer.data.packing;

import org.cce4j.checkpoints.state.TrainingState.DataPosition;
import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.EpochOrder;
import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.Padding;
import org.cce4j.trainer.data.StepBatches;
import org.cce4j.trainer.data.TokenRows;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packed plan: steps of micro_batch_size × grad_accum packs of each epoch's packing, the same
 * number of packs and steps every epoch, each epoch a different but reproducible packing and order from
 * (seed, epoch), every row once an epoch, positions that map back to steps (so a run resumes), the
 * steps' target counts those of their rows, and the padding reported from the packs' lengths equal to
 * the padding of the batches the steps build.
 */
class PackedPlanTest {

    @Test
    void withoutShuffleThePlanIsTheFilesPacksInOrder() {
        // seq_len 8, lengths 3 5 2 6 2 4: packs [1, 0], [3, 2], [5, 4] (PackerTest); mbs 2, ga 1: steps [B A] [C]
        TokenRows rows = Lengths.of(3, 5, 2, 6, 2, 4);
        PackedPlan plan = new PackedPlan(rows, 8, 2, 1, 2, 0, false, 0);
        assertEquals(3, plan.packsPerEpoch());
        assertEquals(2, plan.stepsPerEpoch());
        assertEquals(4, plan.totalSteps());
        PackedStep s1 = plan.step(1);
        assertEquals(0, s1.epoch());
        assertEquals(0, s1.start());
        assertEquals(1, s1.microBatches().size());
        assertArrayEquals(new int[] {1, 0}, s1.microBatches().get(0).get(0));
        assertArrayEquals(new int[] {3, 2}, s1.microBatches().get(0).get(1));
        PackedStep s2 = plan.step(2);
        assertEquals(2, s2.start());
        assertArrayEquals(new int[] {5, 4}, s2.microBatches().get(0).get(0));
        assertEquals(1, plan.step(3).epoch());
        StepBatches b1 = plan.batches(1, 0);
        assertEquals(1, b1.step());
        assertEquals((3 - 1) + (5 - 1) + (2 - 1) + (6 - 1), b1.targets()); // each row's targets: its length - 1
        assertEquals(new Padding(0, 16), b1.padding());
        assertEquals(new Padding(0, 6), plan.batches(2, 0).padding()); // one pack of 6: T = 6
        assertEquals(new Padding(0, 22), plan.padding(0));
        PackedPlan two = new PackedPlan(rows, 8, 3, 1, 1, 0, false, 0);   // all three packs in one micro-batch: T = 8
        assertEquals(new Padding(2, 24), two.padding(0));
        assertEquals(new Padding(2, 24), two.batches(1, 0).padding());
    }

    @Test
    void everyEpochPacksEveryRowOnceIntoTheSameNumberOfPacksDifferently() {
        TokenRows rows = Lengths.random(1000, 60, 5);
        PackedPlan plan = new PackedPlan(rows, 64, 4, 2, 4, 0, true, 42);
        int perEpoch = plan.stepsPerEpoch();
        assertEquals(Math.ceilDiv(plan.packsPerEpoch(), 8), perEpoch);
        List<List<Integer>> firstPacks = null;
        for (int epoch = 0; epoch < 4; epoch++) {
            int[] seen = new int[rows.size()];
            List<List<Integer>> packs = new ArrayList<>();
            int packCount = 0;
            for (long s = (long) epoch * perEpoch + 1; s <= (long) (epoch + 1) * perEpoch; s++) {
                PackedStep step = plan.step(s);
                assertEquals(epoch, step.epoch());
                for (List<int[]> micro : step.microBatches()) {
                    assertTrue(micro.size() <= 4);
                    for (int[] pack : micro) {
                        packCount++;
                        int tokens = 0;
                        for (int r : pack) {
                            seen[r]++;
                            tokens += rows.length(r);
                        }
                        assertTrue(tokens <= 64);
                        packs.add(Arrays.stream(pack).boxed().toList());
                    }
                }
            }
            assertEquals(plan.packsPerEpoch(), packCount, "packs of epoch " + epoch);
            for (int i = 0; i < seen.length; i++) assertEquals(1, seen[i], "row " + i + " in epoch " + epoch);
            if (firstPacks == null) firstPacks = packs;
            else assertNotEquals(firstPacks, packs, "epoch " + epoch + " repeats epoch 0");
        }
    }

    @Test
    void theSameSeedGivesTheSameStepsInAnyOrderOfAsking() {
        TokenRows rows = Lengths.random(300, 30, 8);
        PackedPlan a = new PackedPlan(rows, 32, 2, 3, 3, 0, true, 7);
        PackedPlan b = new PackedPlan(rows, 32, 2, 3, 3, 0, true, 7);
        PackedPlan other = new PackedPlan(rows, 32, 2, 3, 3, 0, true, 8);
        for (long s = a.totalSteps(); s >= 1; s--) { // backwards: each epoch packed again on its own
            assertEquals(flat(a.step(s)), flat(b.step(s)), "step " + s);
        }
        assertNotEquals(flat(a.step(1)), flat(other.step(1)));
        assertEquals(a.packsPerEpoch(), other.packsPerEpoch()); // the count is the lengths' alone
    }

    @Test
    void thePacksOrderIsItsOwnShuffleOfThePackersList() {
        TokenRows rows = Lengths.random(200, 30, 2);
        PackedPlan plan = new PackedPlan(rows, 32, 1, 1, 2, 0, true, 11);
        Packs packs = Packer.pack(rows, EpochOrder.of(rows.size(), true, 11, 1), 32);
        int[] order = EpochOrder.of(packs.count(), true, 11 ^ PackedPlan.PACK_ORDER_SALT, 1);
        for (int k = 0; k < packs.count(); k++) {
            PackedStep s = plan.step(plan.stepsPerEpoch() + k + 1L);
            assertArrayEquals(packs.rows(order[k]), s.microBatches().get(0).get(0), "pack " + k + " of epoch 1");
        }
    }

    @Test
    void positionsCountPacksAndMapBackToSteps() {
        TokenRows rows = Lengths.random(100, 20, 4);
        PackedPlan plan = new PackedPlan(rows, 24, 2, 2, 3, 0, true, 3);
        int p = plan.packsPerEpoch();
        for (long s = 0; s <= plan.totalSteps(); s++) assertEquals(s + 1, plan.nextStep(plan.positionAfter(s)), "after step " + s);
        assertEquals(new DataPosition(0, 4), plan.positionAfter(1));
        assertEquals(new DataPosition(1, 0), plan.positionAfter(plan.stepsPerEpoch()));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> plan.nextStep(new DataPosition(0, 3)));
        assertTrue(e.getMessage().contains("(epoch 0, packed sequence 3) is not at a step boundary of this run (4 packed sequences a step)"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> plan.nextStep(new DataPosition(0, p + 1)));
    }

    @Test
    void maxStepsCapsThePackedRunToo() {
        TokenRows rows = Lengths.random(100, 20, 4);
        PackedPlan plan = new PackedPlan(rows, 24, 2, 2, 3, 5, true, 3);
        assertEquals(5, plan.totalSteps());
        assertThrows(IllegalArgumentException.class, () -> plan.step(6));
    }

    @Test
    void theEpochsPaddingIsThatOfItsBatchesAndLessThanUnpacked() {
        TokenRows rows = Lengths.random(400, 100, 6);
        PackedPlan plan = new PackedPlan(rows, 128, 3, 2, 2, 0, true, 9);
        for (int epoch = 0; epoch < 2; epoch++) {
            Padding fromBatches = Padding.NONE;
            long targets = 0;
            for (long s = (long) epoch * plan.stepsPerEpoch() + 1; s <= (long) (epoch + 1) * plan.stepsPerEpoch(); s++) {
                StepBatches b = plan.batches(s, 0);
                fromBatches = fromBatches.plus(b.padding());
                long t = 0;
                for (MicroBatch m : b.microBatches()) t += m.targets();
                assertEquals(t, b.targets());
                targets += t;
            }
            assertEquals(fromBatches, plan.padding(epoch), "epoch " + epoch);
            long rowTargets = 0;
            for (int i = 0; i < rows.size(); i++) rowTargets += rows.row(i).targets();
            assertEquals(rowTargets, targets, "an epoch trains on every target of every row");
        }
        var unpacked = new org.cce4j.trainer.data.PaddedPlan(new org.cce4j.trainer.data.TrainingPlan(rows.size(), 3, 2, 2, 0, true, 9), rows);
        System.out.printf("padding of epoch 0: packed %.4f, unpacked %.4f%n", plan.padding(0).fraction(), unpacked.padding(0).fraction());
        assertTrue(plan.padding(0).fraction() < unpacked.padding(0).fraction() / 5);
    }

    private static List<List<Integer>> flat(PackedStep s) {
        List<List<Integer>> out = new ArrayList<>();
        for (List<int[]> m : s.microBatches()) for (int[] p : m) out.add(Arrays.stream(p).boxed().toList());
        return out;
    }
}
