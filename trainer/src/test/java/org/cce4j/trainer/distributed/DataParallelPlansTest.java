package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plans data parallelism is made of — buckets, owners, the deal of micro-batches — and the checks across ranks. */
class DataParallelPlansTest {
    @Test
    void bucketsCloseOnceTheyReachTheCapAndNeverSplitAParameter() {
        // caps in bytes of f32: 40 bytes = 10 elements
        BucketPlan p = BucketPlan.of(new long[] {4, 4, 4, 30, 1, 2, 3}, 40);
        assertEquals(3, p.buckets().size());
        assertEquals(List.of(new BucketPlan.Slot(0, 0, 4), new BucketPlan.Slot(1, 4, 4), new BucketPlan.Slot(2, 8, 4)), p.buckets().get(0).slots());
        assertEquals(12, p.buckets().get(0).numel());
        assertEquals(List.of(new BucketPlan.Slot(3, 0, 30)), p.buckets().get(1).slots(), "larger than the cap: alone");
        assertEquals(List.of(new BucketPlan.Slot(4, 0, 1), new BucketPlan.Slot(5, 1, 2), new BucketPlan.Slot(6, 3, 3)), p.buckets().get(2).slots(),
                "the rest, under the cap");
        assertEquals(2, p.buckets().get(0).lastParam());
        assertArrayEquals(new int[] {0, 0, 0, 1, 2, 2, 2}, p.bucketOf(7));
        assertEquals(1, BucketPlan.of(new long[] {5, 5}, BucketPlan.DEFAULT_CAP_BYTES).buckets().size(), "small models: one bucket");
        assertEquals(0, BucketPlan.of(new long[0], 40).buckets().size());
    }

    @Test
    void ownersAreBalancedLargestFirst() {
        OwnerPlan p = OwnerPlan.of(new long[] {10, 70, 20, 20, 30, 50}, 3);
        // 70 → 0; 50 → 1; 30 → 2; 20 → 2 (loads 70, 50, 30); 20 → 1 (70, 50, 50: the tie to the lower rank); 10 → 2 (70, 70, 50)
        assertArrayEquals(new int[] {2, 0, 2, 1, 2, 1}, p.owner());
        assertArrayEquals(new long[] {70, 70, 60}, p.load());
        assertEquals(200, Arrays.stream(p.load()).sum(), "every parameter owned once");
        OwnerPlan one = OwnerPlan.of(new long[] {3, 1, 2}, 1);
        assertArrayEquals(new int[] {0, 0, 0}, one.owner());
        OwnerPlan more = OwnerPlan.of(new long[] {5, 5}, 4);
        assertArrayEquals(new long[] {5, 5, 0, 0}, more.load(), "more ranks than parameters: some own nothing");
    }

    @Test
    void microBatchesAreDealtRoundRobin() {
        List<int[]> r = List.of(dealt(0, 3, 7), dealt(1, 3, 7), dealt(2, 3, 7));
        assertArrayEquals(new int[] {0, 3, 6}, r.get(0));
        assertArrayEquals(new int[] {1, 4}, r.get(1));
        assertArrayEquals(new int[] {2, 5}, r.get(2));
        assertArrayEquals(new int[] {}, dealt(2, 3, 2), "a short last step leaves a rank without micro-batches");
        assertArrayEquals(new int[] {0, 1, 2}, dealt(0, 1, 3));
    }

    private static int[] dealt(int rank, int size, int count) {
        return new DataParallel(new RankOnly(rank, size), false).microBatchesOf(count);
    }

    @Test
    void gradAccumMustBeAMultiple() {
        DataParallel.checkGradAccum(8, 4);
        DataParallel.checkGradAccum(3, 1);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> DataParallel.checkGradAccum(2, 4));
        assertEquals("train.grad_accum 2 is not a multiple of the 4 ranks: each rank takes every 4-th micro-batch of a step (set train.grad_accum to 4)",
                e.getMessage());
    }

    @Test
    void eachRankTakesItsLocalGpu() {
        assertEquals("cuda:2", DataParallel.rankDevice("cuda", 2, () -> true));
        assertEquals("cuda:2", DataParallel.rankDevice(null, 2, () -> true));
        assertEquals("cpu", DataParallel.rankDevice(null, 2, () -> false));
        assertEquals("cpu", DataParallel.rankDevice("cpu", 2, () -> true));
        assertEquals("cuda:1", DataParallel.rankDevice("cuda:1", 1, () -> true), "what train --gpus passes");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> DataParallel.rankDevice("cuda:0", 1, () -> true));
        assertEquals("device cuda:0: each rank uses the GPU of its LOCAL_RANK (this one cuda:1); set device to cuda or leave it out", e.getMessage());
    }

    @Test
    void everyRankStopsOnAnyRanksSignal() throws Exception {
        List<String> stops = Ranks.values(Ranks.run(3, c -> {
            DataParallel dp = new DataParallel(c, false);
            dp.attachBackend(Backends.create(Device.CPU, null));
            String none = dp.agreeOnStop(null);
            String one = dp.agreeOnStop(c.rank() == 2 ? "INT" : null);
            String both = dp.agreeOnStop(c.rank() == 0 ? "INT" : c.rank() == 1 ? "TERM" : null);
            return none + "," + one + "," + both;
        }));
        assertEquals(List.of("null,INT,TERM", "null,INT,TERM", "null,INT,TERM"), stops);
    }

    @Test
    void ranksWithDifferentWeightsAreCaught() throws Exception {
        assertNull(checkOnTwoRanks(2.5f, 2.5f), "the same weights pass");
        assertEquals("the checkpoint of step 4: the ranks hold different weights: b.weight has sum of (value + 1)² 16.25 on rank 0 and 6.25 on rank 1"
                + " (a rank computed a different update: a bug, or a device that corrupts memory)", checkOnTwoRanks(2.5f, -2.5f), "a sign flip");
        String ulp = checkOnTwoRanks(2.5f, Math.nextUp(2.5f));
        assertTrue(ulp.startsWith("the checkpoint of step 4: the ranks hold different weights: b.weight has sum of squares 7.25 on rank 0 and 7.25000"), ulp);
    }

    /** Both ranks' error message (the same on both), or null when the check passed on both. */
    private static String checkOnTwoRanks(float onRank0, float onRank1) throws Exception {
        Backend be = Backends.create(Device.CPU, null);
        List<Ranks.Outcome<Object>> out = Ranks.run(2, c -> {
            try (ParameterStore store = new ParameterStore()) {
                store.add("a.weight", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), be, true);
                store.add("b.weight", Tensor.of(new float[] {1, c.rank() == 1 ? onRank1 : onRank0}, 2), be, true);
                DataParallel dp = new DataParallel(c, false);
                dp.attachBackend(be);
                dp.checkWeightsAgree(List.copyOf(store.all()), "the checkpoint of step 4");
                return null;
            }
        });
        String first = out.get(0).error() == null ? null : out.get(0).error().getMessage();
        String second = out.get(1).error() == null ? null : out.get(1).error().getMessage();
        assertEquals(first, second, "both ranks see the same");
        return first;
    }

    /** A communicator that only knows its place (for what is not collective). */
    record RankOnly(int rank, int size) implements org.cce4j.core.dist.Communicator {
        public Work allReduceSum(Tensor t) { throw new UnsupportedOperationException(); }
        public Work reduceScatterSum(Tensor in, Tensor out) { throw new UnsupportedOperationException(); }
        public Work allGather(Tensor in, Tensor out) { throw new UnsupportedOperationException(); }
        public Work broadcast(Tensor t, int root) { throw new UnsupportedOperationException(); }
        public void barrier() { throw new UnsupportedOperationException(); }
        public void close() {}
    }
}
