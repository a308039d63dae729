package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plans data parallelism is made of — buckets, ZeRO-1 shards, the deal of micro-batches — and the checks across ranks. */
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
    void shardsCutABucketIntoEqualRangesThroughItsParameters() {
        // the bucket of ShardLayout's comment: p0 6, p1 10, p2 3 elements = 19, 3 ranks, shards of 7, 2 of padding
        BucketPlan.Bucket b = BucketPlan.of(new long[] {6, 10, 3}, 1L << 20).buckets().get(0);
        assertEquals(7, ShardLayout.shardSize(19, 3));
        assertEquals(List.of(new ShardLayout.Segment(0, 0, 6, 0), new ShardLayout.Segment(1, 0, 1, 6)), ShardLayout.segments(b, 0, 3));
        assertEquals(List.of(new ShardLayout.Segment(1, 1, 8, 0)), ShardLayout.segments(b, 1, 3));
        assertEquals(List.of(new ShardLayout.Segment(1, 8, 10, 0), new ShardLayout.Segment(2, 0, 3, 2)), ShardLayout.segments(b, 2, 3),
                "the last shard: 5 elements and 2 of padding");
        // every element of every parameter is in exactly one rank's shard, at its place in the bucket
        for (int ranks = 1; ranks <= 7; ranks++) {
            long[] covered = new long[19];
            long s = ShardLayout.shardSize(19, ranks);
            for (int r = 0; r < ranks; r++) {
                for (ShardLayout.Segment seg : ShardLayout.segments(b, r, ranks)) {
                    long offset = b.slots().get(seg.param()).offset();
                    for (long e = seg.from(); e < seg.to(); e++) {
                        covered[(int) (offset + e)]++;
                        assertEquals(r * s + seg.shardOffset() + (e - seg.from()), offset + e, "rank " + r + " of " + ranks);
                    }
                }
            }
            for (long c : covered) assertEquals(1, c, ranks + " ranks");
        }
        assertEquals(List.of(), ShardLayout.segments(BucketPlan.of(new long[] {2}, 4).buckets().get(0), 3, 4), "more ranks than elements");
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
        assertEquals("cuda:2", DataParallel.rankDevice("cuda", 2, null, () -> true));
        assertEquals("cuda:2", DataParallel.rankDevice(null, 2, null, () -> true));
        assertEquals("cpu", DataParallel.rankDevice(null, 2, null, () -> false));
        assertEquals("cpu", DataParallel.rankDevice("cpu", 2, "0,1,2,3", () -> true));
        assertEquals("cuda:1", DataParallel.rankDevice("cuda:1", 1, null, () -> true), "what train --gpus passes");
        assertEquals("cuda:3", DataParallel.rankDevice("cuda", 3, "4,5,6,7", () -> true), "a node's GPUs renumbered from 0");
        assertEquals("cuda:0", DataParallel.rankDevice("cuda", 3, "6", () -> true), "srun --gpus-per-task 1: the one GPU it sees");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> DataParallel.rankDevice("cuda:0", 1, null, () -> true));
        assertEquals("device cuda:0: each rank uses the GPU of its LOCAL_RANK (this one cuda:1); set device to cuda or leave it out", e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> DataParallel.rankDevice(null, 2, "0,1", () -> true));
        assertEquals("LOCAL_RANK 2 has no GPU: CUDA_VISIBLE_DEVICES lists 2 (0,1); start at most 2 ranks on this node", e.getMessage());
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
