package org.cce4j.core.dist;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.FloatFormats;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The in-process group against sums written out in rank order (bit for bit: the group promises that
 * order), and its failures: a rank that never arrives, one that closed, ranks that disagree, abort.
 */
class HostGroupTest {
    private static final int N = 3;

    /** Rank r's values: a fixed pseudo-random sequence per rank, spread over many magnitudes. */
    private static double[] values(int rank, int count) {
        SplittableRandom rnd = new SplittableRandom(100 + rank);
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-3, 4));
        return v;
    }

    private static Tensor tensorOf(DType type, double[] v) {
        Tensor t = Tensor.zeros(type, v.length);
        for (int i = 0; i < v.length; i++) {
            if (type.isFloatingPoint()) t.setDouble(i, v[i]);
            else t.setLong(i, (long) (v[i] * 1e6));
        }
        return t;
    }

    /** The expected sum of element i: rank 0's value, plus rank 1's, ... each addition rounded as the type does. */
    private static long[] expectedSumBits(DType type, int count) {
        long[] out = new long[count];
        try (Tensor acc = tensorOf(type, values(0, count))) {
            for (int r = 1; r < N; r++) {
                try (Tensor x = tensorOf(type, values(r, count))) {
                    for (int i = 0; i < count; i++) {
                        switch (type) {
                            case F64 -> acc.setDouble(i, acc.getDouble(i) + x.getDouble(i));
                            case F32 -> acc.setFloat(i, acc.getFloat(i) + x.getFloat(i));
                            case BF16 -> acc.setFloat(i, FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(acc.getFloat(i) + x.getFloat(i))));
                            default -> acc.setLong(i, acc.getLong(i) + x.getLong(i));
                        }
                    }
                }
            }
            for (int i = 0; i < count; i++) out[i] = bits(acc, i);
        }
        return out;
    }

    private static long bits(Tensor t, int i) {
        return switch (t.dtype()) {
            case F64 -> Double.doubleToRawLongBits(t.getDouble(i));
            case F32 -> Float.floatToRawIntBits(t.getFloat(i));
            case BF16 -> Float.floatToRawIntBits(t.getFloat(i));
            default -> t.getLong(i);
        };
    }

    private static long[] bitsOf(Tensor t) {
        long[] b = new long[(int) t.numel()];
        for (int i = 0; i < b.length; i++) b[i] = bits(t, i);
        return b;
    }

    @Test
    void allReduceSumsInRankOrderInTheTensorsOwnType() {
        for (DType type : List.of(DType.F32, DType.F64, DType.BF16, DType.I32, DType.I64)) {
            int count = 1000;
            HostGroup g = HostGroup.create(N, Duration.ofSeconds(20));
            List<long[]> got = RankThreads.values(RankThreads.run(N, 30, rank -> {
                try (Communicator c = g.rank(rank); Tensor t = tensorOf(type, values(rank, count))) {
                    c.allReduceSum(t).await();
                    return bitsOf(t);
                }
            }));
            long[] want = expectedSumBits(type, count);
            for (int r = 0; r < N; r++) assertArrayEquals(want, got.get(r), type + " sum on rank " + r);
        }
    }

    @Test
    void reduceScatterAllGatherAndBroadcastFollowTheContract() {
        int n = 5;
        HostGroup g = HostGroup.create(N, Duration.ofSeconds(20));
        List<float[][]> got = RankThreads.values(RankThreads.run(N, 30, rank -> {
            Communicator c = g.rank(rank);
            float[] in = new float[N * n];
            for (int i = 0; i < in.length; i++) in[i] = 100 * rank + i;
            try (Tensor scatterIn = Tensor.of(in, N, n); Tensor scatterOut = Tensor.zeros(DType.F32, n);
                 Tensor mine = Tensor.of(new float[] {rank, rank + 0.5f}, 2); Tensor gathered = Tensor.zeros(DType.F32, 2L * N);
                 Tensor b = Tensor.of(new float[] {rank, -rank, 7}, 3)) {
                c.reduceScatterSum(scatterIn, scatterOut).await();
                c.allGather(mine, gathered).await();
                c.broadcast(b, 1).await();
                c.barrier();
                return new float[][] {scatterOut.toFloatArray(), gathered.toFloatArray(), b.toFloatArray()};
            }
        }));
        for (int r = 0; r < N; r++) {
            float[] scatter = new float[n];
            for (int i = 0; i < n; i++) for (int q = 0; q < N; q++) scatter[i] += 100 * q + (r * n + i);
            assertArrayEquals(scatter, got.get(r)[0], "reduce-scatter slice of rank " + r);
            assertArrayEquals(new float[] {0, 0.5f, 1, 1.5f, 2, 2.5f}, got.get(r)[1], "all-gather on rank " + r);
            assertArrayEquals(new float[] {1, -1, 7}, got.get(r)[2], "broadcast from rank 1 on rank " + r);
        }
    }

    @Test
    void allGatherIntoItsOwnOutputSlice() {
        // ZeRO gathers in place: each rank's input is its slice of the output
        HostGroup g = HostGroup.create(N, Duration.ofSeconds(20));
        List<float[]> got = RankThreads.values(RankThreads.run(N, 30, rank -> {
            try (Tensor out = Tensor.zeros(DType.F32, N, 2)) {
                Tensor slice = out.slice(rank, rank + 1);
                slice.setFloat(0, 10 * rank);
                slice.setFloat(1, 10 * rank + 1);
                g.rank(rank).allGather(slice, out).await();
                return out.toFloatArray();
            }
        }));
        for (float[] v : got) assertArrayEquals(new float[] {0, 1, 10, 11, 20, 21}, v);
    }

    @Test
    void aRankThatNeverArrivesFailsTheOthersWithinTheTimeout() {
        HostGroup g = HostGroup.create(N, Duration.ofMillis(1500));
        var outcomes = RankThreads.run(N, 30, rank -> {
            try (Tensor t = Tensor.of(new float[] {1, 2})) {
                Communicator c = g.rank(rank);
                c.allReduceSum(t);
                if (rank == 2) return "skipped"; // rank 2 stops here: the others' second all-reduce waits for it
                c.allReduceSum(t);
                return "done";
            }
        });
        assertEquals("skipped", outcomes.get(2).get());
        for (int r = 0; r < 2; r++) {
            CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(r).error());
            assertEquals("all-reduce #2 failed on rank " + r + ": rank 2 did not reach all-reduce #2 within 1500 ms", e.getMessage());
        }
        // and the group stays failed: a later call throws at once
        CommunicatorException later = assertInstanceOf(CommunicatorException.class,
                RankThreads.run(1, 10, rank -> { g.rank(2).barrier(); return null; }).getFirst().error());
        assertTrue(later.getMessage().startsWith("barrier #2 failed on rank 2: rank 2 did not reach"), later.getMessage());
    }

    @Test
    void aRankThatClosesFailsTheRanksWaitingForIt() {
        HostGroup g = HostGroup.create(2, Duration.ofSeconds(60));
        var outcomes = RankThreads.run(2, 30, rank -> {
            Communicator c = g.rank(rank);
            if (rank == 1) {
                Thread.sleep(200); // rank 0 is waiting in its all-reduce by then (if not, it fails on arrival)
                c.close();
                return null;
            }
            try (Tensor t = Tensor.of(new float[] {1})) {
                c.allReduceSum(t);
            }
            return null;
        });
        assertNull(outcomes.get(1).error());
        CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(0).error());
        assertEquals("all-reduce #1 failed on rank 0: rank 1 closed its communicator before all-reduce #1", e.getMessage());
    }

    @Test
    void ranksThatCallDifferentOperationsAllFail() {
        HostGroup g = HostGroup.create(2, Duration.ofSeconds(60));
        var outcomes = RankThreads.run(2, 30, rank -> {
            try (Tensor t = Tensor.of(new float[] {1, 2, 3, 4}); Tensor half = Tensor.zeros(DType.F32, 2)) {
                if (rank == 0) g.rank(0).allReduceSum(t);
                else g.rank(1).reduceScatterSum(t, half);
            }
            return null;
        });
        for (int r = 0; r < 2; r++) {
            CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(r).error());
            assertTrue(e.getMessage().contains("ranks disagree at their operation #1: rank 0 called all-reduce of f32[4], rank 1 reduce-scatter of f32[4]"),
                    e.getMessage());
        }
    }

    @Test
    void aBadCallFailsEveryRankInsteadOfLeavingThemWaiting() {
        HostGroup g = HostGroup.create(2, Duration.ofSeconds(60));
        var outcomes = RankThreads.run(2, 30, rank -> {
            try (Tensor in = Tensor.of(new float[] {1, 2, 3}); Tensor out = Tensor.zeros(DType.F32, rank == 0 ? 2 : 6)) {
                g.rank(rank).allGather(in, out);
            }
            return null;
        });
        CommunicatorException e0 = assertInstanceOf(CommunicatorException.class, outcomes.get(0).error());
        assertEquals("all-gather #1 failed on rank 0: rank 0 called all-gather #1 with out [2] must hold 2 × in [3] elements", e0.getMessage());
        assertInstanceOf(CommunicatorException.class, outcomes.get(1).error());
    }

    @Test
    void abortReleasesEveryWaitingRank() {
        HostGroup g = HostGroup.create(3, Duration.ofSeconds(60));
        var outcomes = RankThreads.run(3, 30, rank -> {
            if (rank == 2) {
                Thread.sleep(200);
                g.abort("rank 2's data loader failed");
                return null;
            }
            g.rank(rank).barrier();
            return null;
        });
        for (int r = 0; r < 2; r++) {
            CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(r).error());
            assertEquals("barrier #1 failed on rank " + r + ": rank 2's data loader failed", e.getMessage());
        }
    }
}
