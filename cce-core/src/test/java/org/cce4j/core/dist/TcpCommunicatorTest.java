package org.cce4j.core.dist;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TCP communicator between threads (its results are the in-process group's, bit for bit) and
 * between real processes, and its failures: a rank that stalls, one that leaves, one that is killed.
 * Operation timeouts are long where the expected failure is a closed connection, so that a message
 * naming the connection cannot have come from a timeout.
 */
class TcpCommunicatorTest {

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static TcpSetup setup(int port, int rank, int size, Duration operationTimeout) {
        return TcpSetup.of("127.0.0.1", port, rank, size).withTimeouts(Duration.ofSeconds(30), operationTimeout);
    }

    private static float[] gaussians(int rank, int count) {
        SplittableRandom rnd = new SplittableRandom(7 + rank);
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-3, 4)));
        return v;
    }

    /** Every collective of rank {@code rank}, returned as the bytes of each result. */
    private static List<byte[]> everything(Communicator c, int rank, int size) {
        try (Tensor f32 = Tensor.of(gaussians(rank, 999)); Tensor bf16 = f32.to(DType.BF16);
             Tensor i64 = Tensor.of(new long[] {rank, 1L << 40, -rank * 3L});
             Tensor scatterIn = Tensor.of(gaussians(rank + 10, 4 * size)); Tensor scatterOut = Tensor.zeros(DType.F32, 4);
             Tensor gatherOut = Tensor.zeros(DType.F32, 999L * size); Tensor b = Tensor.of(gaussians(rank + 20, 5))) {
            c.allReduceSum(f32).await();
            c.allReduceSum(bf16).await();
            c.allReduceSum(i64).await();
            c.reduceScatterSum(scatterIn, scatterOut).await();
            c.allGather(bf16.to(DType.F32), gatherOut).await();
            c.broadcast(b, size - 1).await();
            c.barrier();
            return List.of(bytes(f32), bytes(bf16), bytes(i64), bytes(scatterOut), bytes(gatherOut), bytes(b));
        }
    }

    private static byte[] bytes(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    @Test
    void threeRanksGetTheInProcessGroupsResultsBitForBit() throws IOException {
        int size = 3, port = freePort();
        List<List<byte[]>> tcp = RankThreads.values(RankThreads.run(size, 60, rank -> {
            try (TcpCommunicator c = TcpCommunicator.connect(setup(port, rank, size, Duration.ofSeconds(30)))) {
                return everything(c, rank, size);
            }
        }));
        HostGroup g = HostGroup.create(size, Duration.ofSeconds(30));
        List<List<byte[]>> host = RankThreads.values(RankThreads.run(size, 60, rank -> everything(g.rank(rank), rank, size)));
        for (int r = 0; r < size; r++) {
            for (int k = 0; k < host.get(r).size(); k++) assertArrayEquals(host.get(r).get(k), tcp.get(r).get(k), "result " + k + " of rank " + r);
        }
    }

    @Test
    void rendezvousHandsRankZerosBytesToEveryRank() throws IOException {
        int size = 3, port = freePort();
        byte[] id = new byte[128];
        new SplittableRandom(3).nextBytes(id);
        List<byte[]> got = RankThreads.values(RankThreads.run(size, 60,
                rank -> Rendezvous.exchange(setup(port, rank, size, Duration.ofSeconds(30)), id::clone)));
        for (byte[] b : got) assertArrayEquals(id, b);
    }

    @Test
    void aRankThatStallsFailsEveryRankByName() throws IOException {
        int size = 3, port = freePort();
        var outcomes = RankThreads.run(size, 60, rank -> {
            try (TcpCommunicator c = TcpCommunicator.connect(setup(port, rank, size, Duration.ofMillis(1500)));
                 Tensor t = Tensor.of(new float[] {1})) {
                c.allReduceSum(t);
                if (rank == 2) Thread.sleep(5000); // beyond every rank's timeout (rank 0: 1.5 s, the others: 3 s)
                c.allReduceSum(t);
                return null;
            }
        });
        for (int r = 0; r < 2; r++) {
            CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(r).error());
            assertEquals("all-reduce #2 failed on rank " + r + ": rank 2 sent nothing for 1500 ms during all-reduce #2", e.getMessage());
        }
        // rank 2 arrives late: rank 0 had told it why the job failed
        CommunicatorException late = assertInstanceOf(CommunicatorException.class, outcomes.get(2).error());
        assertEquals("all-reduce #2 failed on rank 2: rank 2 sent nothing for 1500 ms during all-reduce #2", late.getMessage());
    }

    @Test
    void aRankThatLeavesFailsTheOthersNextOperation() throws IOException {
        int size = 3, port = freePort();
        var outcomes = RankThreads.run(size, 60, rank -> {
            try (TcpCommunicator c = TcpCommunicator.connect(setup(port, rank, size, Duration.ofSeconds(120)));
                 Tensor t = Tensor.of(new float[] {1})) {
                c.allReduceSum(t);
                if (rank == 1) return null; // closes its communicator
                c.allReduceSum(t);
                return null;
            }
        });
        for (int r : new int[] {0, 2}) {
            CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(r).error());
            assertEquals("all-reduce #2 failed on rank " + r + ": rank 1 closed its communicator before all-reduce #2", e.getMessage());
        }
    }

    @Test
    void aWrongCallOnOneRankFailsEveryRankAtOnce() throws IOException {
        int size = 3, port = freePort();
        var outcomes = RankThreads.run(size, 60, rank -> {
            try (TcpCommunicator c = TcpCommunicator.connect(setup(port, rank, size, Duration.ofSeconds(120)));
                 Tensor in = Tensor.of(new float[] {1, 2, 3}); Tensor out = Tensor.zeros(DType.F32, rank == 2 ? 4 : 9)) {
                c.allGather(in, out);
                return null;
            }
        });
        for (int r = 0; r < size; r++) {
            CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(r).error());
            assertEquals("all-gather #1 failed on rank " + r + ": rank 2 called all-gather #1 with out [4] must hold 3 × in [3] elements", e.getMessage());
        }
    }

    @Test
    void aKilledProcessFailsRankZeroByName() throws Exception {
        int port = freePort();
        Process child = startRank(port, 1, 2);
        try (TcpCommunicator c = TcpCommunicator.connect(setup(port, 0, 2, Duration.ofSeconds(120)));
             Tensor t = Tensor.of(new float[] {1, 10})) {
            c.allReduceSum(t);
            assertArrayEquals(new float[] {3, 30}, t.toFloatArray());
            awaitReady(child);
            child.destroyForcibly().waitFor();
            CommunicatorException e = assertThrows(CommunicatorException.class, () -> c.allReduceSum(t));
            assertEquals("all-reduce #2 failed on rank 0: rank 1 closed its connection during all-reduce #2", e.getMessage());
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aKilledRankZeroFailsTheOtherRankByName() throws Exception {
        int port = freePort();
        Process child = startRank(port, 0, 2);
        try (TcpCommunicator c = TcpCommunicator.connect(setup(port, 1, 2, Duration.ofSeconds(120)));
             Tensor t = Tensor.of(new float[] {2, 20})) {
            c.allReduceSum(t);
            assertArrayEquals(new float[] {3, 30}, t.toFloatArray());
            awaitReady(child);
            child.destroyForcibly().waitFor();
            CommunicatorException e = assertThrows(CommunicatorException.class, () -> c.allReduceSum(t));
            assertEquals("all-reduce #2 failed on rank 1: rank 0 closed its connection during all-reduce #2", e.getMessage());
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aRankWithNoRankZeroSaysWhereItLooked() throws IOException {
        int port = freePort();
        TcpSetup s = TcpSetup.of("127.0.0.1", port, 1, 2).withTimeouts(Duration.ofMillis(400), Duration.ofSeconds(1));
        CommunicatorException e = assertThrows(CommunicatorException.class, () -> TcpCommunicator.connect(s));
        assertTrue(e.getMessage().startsWith("rank 1: cannot reach rank 0 at 127.0.0.1:" + port + " within 400 ms"), e.getMessage());
    }

    @Test
    void rankZeroNamesTheRanksThatNeverConnected() throws IOException {
        int port = freePort();
        TcpSetup s = TcpSetup.of("127.0.0.1", port, 0, 3).withTimeouts(Duration.ofMillis(400), Duration.ofSeconds(1));
        CommunicatorException e = assertThrows(CommunicatorException.class, () -> TcpCommunicator.connect(s));
        assertEquals("rank 0: rank(s) 1, 2 did not connect to 127.0.0.1:" + port + " within 400 ms", e.getMessage());
    }

    @Test
    void theEnvironmentIsReadAsTorchrunWritesIt() {
        TcpSetup s = TcpSetup.fromEnvironment(Map.of("MASTER_ADDR", "10.0.0.2", "MASTER_PORT", "29500", "RANK", "3", "WORLD_SIZE", "4"));
        assertEquals(TcpSetup.of("10.0.0.2", 29500, 3, 4), s);
        InvalidInputException missing = assertThrows(InvalidInputException.class,
                () -> TcpSetup.fromEnvironment(Map.of("MASTER_PORT", "29500", "RANK", "0")));
        assertEquals("WORLD_SIZE is not set (a multi-process job needs MASTER_PORT, RANK and WORLD_SIZE)", missing.getMessage());
        InvalidInputException rank = assertThrows(InvalidInputException.class,
                () -> TcpSetup.fromEnvironment(Map.of("MASTER_PORT", "29500", "RANK", "4", "WORLD_SIZE", "4")));
        assertEquals("RANK=4 is outside [0, WORLD_SIZE=4)", rank.getMessage());
    }

    private static Process startRank(int port, int rank, int size) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                TcpRankMain.class.getName(), String.valueOf(port), String.valueOf(rank), String.valueOf(size));
        pb.redirectErrorStream(true);
        return pb.start();
    }

    /** Reads the child's output up to its "ready" line (its all-reduce #1 is done then), checking its sum. */
    private static void awaitReady(Process child) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        for (String line; (line = r.readLine()) != null; ) {
            seen.append(line).append('\n');
            if (line.equals("ready")) {
                assertTrue(seen.toString().contains("sum [3.0, 30.0]"), seen.toString());
                return;
            }
        }
        throw new AssertionError("the child rank ended before it was ready:\n" + seen);
    }
}
