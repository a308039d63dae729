package org.cce4j.core.device;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaException;
import org.cce4j.core.cuda.Driver;
import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.cuda.Nccl;
import org.cce4j.core.dist.CommunicatorException;
import org.cce4j.core.dist.RankThreads;
import org.cce4j.core.dist.TcpSetup;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * NCCL through the real library: at world size 1 every collective gives back its input (bf16 and f32
 * device tensors, bit for bit), through the side stream and the event ordering; errors by name; a
 * rank that never joins is an exception, not a hang. With two GPUs: sums across ranks, and a rank
 * that skips an operation makes the other's wait fail by name after the watchdog aborts.
 */
@Tag("gpu")
class NcclCommunicatorTest {

    private static Nccl requireNccl() {
        GpuAvailability.require();
        try {
            return Nccl.get();
        } catch (CudaException e) {
            assumeTrue(false, "no NCCL: " + e.getMessage());
            throw e;
        }
    }

    private static Tensor random(DType type, int count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(type, count);
        for (int i = 0; i < count; i++) t.setFloat(i, (float) rnd.nextGaussian());
        return t;
    }

    private static byte[] bytes(Tensor host) {
        return host.data().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void worldSizeOneGivesBackEveryInput() {
        Nccl nccl = requireNccl();
        CudaDevice dev = GpuAvailability.require();
        assertTrue(nccl.version() >= 21800, "NCCL " + Nccl.versionText(nccl.version()));
        try (NcclCommunicator c = NcclCommunicator.create(dev, 0, 1, NcclCommunicator.newUniqueId(), Duration.ofSeconds(60))) {
            for (DType type : List.of(DType.BF16, DType.F32)) {
                try (Tensor host = random(type, 100_003, 1); Tensor d = dev.upload(host);
                     Tensor out = dev.zeros(type, 100_003); Tensor gathered = dev.zeros(type, 100_003)) {
                    c.allReduceSum(d).await();
                    c.reduceScatterSum(d, out).await();
                    c.allGather(out, gathered).await();
                    c.broadcast(gathered, 0).await();
                    c.barrier();
                    for (Tensor t : List.of(d, out, gathered)) {
                        try (Tensor back = dev.download(t)) {
                            assertArrayEquals(bytes(host), bytes(back), type + " through every collective at size 1");
                        }
                    }
                }
            }
        }
    }

    @Test
    void theTcpRendezvousPathWorksAtSizeOne() throws IOException {
        requireNccl();
        CudaDevice dev = GpuAvailability.require();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (NcclCommunicator c = NcclCommunicator.connect(dev, TcpSetup.of("127.0.0.1", port, 0, 1));
             Tensor host = random(DType.F32, 1000, 2); Tensor d = dev.upload(host)) {
            c.allReduceSum(d).await();
            try (Tensor back = dev.download(d)) {
                assertArrayEquals(bytes(host), bytes(back));
            }
        }
    }

    @Test
    void errorsHaveNcclsNames() {
        Nccl nccl = requireNccl();
        CudaDevice dev = GpuAvailability.require();
        try (Tensor d = dev.zeros(DType.F32, 4)) {
            CudaException e = assertThrows(CudaException.class,
                    () -> nccl.allReduceSum(d.address(), d.address(), 4, DType.F32, MemorySegment.NULL, MemorySegment.NULL));
            assertTrue(e.getMessage().startsWith("ncclAllReduce(4 f32) failed: ncclInvalidArgument (4)"), e.getMessage());
        }
        try (NcclCommunicator c = NcclCommunicator.create(dev, 0, 1, NcclCommunicator.newUniqueId(), Duration.ofSeconds(60));
             Tensor in = dev.zeros(DType.F32, 10); Tensor out = dev.zeros(DType.F32, 3); Tensor host = Tensor.zeros(DType.F32, 10)) {
            IllegalArgumentException sizes = assertThrows(IllegalArgumentException.class, () -> c.reduceScatterSum(in, out));
            assertEquals("reduce-scatter #1 on rank 0: in [10] must hold 1 × out [3] elements", sizes.getMessage());
            IllegalArgumentException where = assertThrows(IllegalArgumentException.class, () -> c.allReduceSum(host));
            assertTrue(where.getMessage().startsWith("all-reduce #1 on rank 0: a tensor on cpu"), where.getMessage());
            c.allReduceSum(in).await(); // refused calls use no sequence number and leave the communicator usable
        }
    }

    @Test
    void aRankThatNeverJoinsIsAnExceptionNotAHang() {
        requireNccl();
        CudaDevice dev = GpuAvailability.require();
        CommunicatorException e = assertThrows(CommunicatorException.class,
                () -> NcclCommunicator.create(dev, 0, 2, NcclCommunicator.newUniqueId(), Duration.ofSeconds(3)));
        assertEquals("rank 0: ncclCommInitRank did not complete within 3 s (not all 2 ranks joined)", e.getMessage());
    }

    @Test
    void twoGpusSumAndARankThatSkipsAnOperationFailsTheOtherByName() {
        requireNccl();
        assumeTrue(Driver.get().deviceCount() >= 2, "needs two GPUs");
        byte[] id = NcclCommunicator.newUniqueId();
        var outcomes = RankThreads.run(2, 120, rank -> {
            CudaDevice dev = CudaDevice.get(rank);
            try (NcclCommunicator c = NcclCommunicator.create(dev, rank, 2, id, Duration.ofSeconds(5));
                 Tensor host = Tensor.of(new float[] {rank + 1, 10 * (rank + 1)}); Tensor d = dev.upload(host)) {
                c.allReduceSum(d).await();
                float[] sum;
                try (Tensor back = dev.download(d)) {
                    sum = back.toFloatArray();
                }
                if (rank == 1) {
                    Thread.sleep(10_000); // skips the second all-reduce, and stays until rank 0's watchdog has given up on it
                    return sum;
                }
                c.allReduceSum(d).await();
                c.barrier(); // waits on the host: the watchdog's abort ends it
                return sum;
            }
        });
        assertArrayEquals(new float[] {3, 30}, outcomes.get(1).get());
        CommunicatorException e = assertInstanceOf(CommunicatorException.class, outcomes.get(0).error());
        assertTrue(e.getMessage().startsWith("barrier #3 failed on rank 0: all-reduce #2 did not complete within 5 s")
                || e.getMessage().startsWith("barrier #3 failed on rank 0: NCCL reported"), e.getMessage());
    }
}
