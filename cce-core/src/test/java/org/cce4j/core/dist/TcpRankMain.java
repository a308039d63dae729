package org.cce4j.core.dist;

import org.cce4j.core.tensor.Tensor;

import java.time.Duration;
import java.util.Arrays;

/**
 * One rank of {@link TcpCommunicatorTest}'s multi-process cases, run as its own JVM:
 * {@code TcpRankMain PORT RANK SIZE} joins, all-reduces [rank+1, 10·(rank+1)], prints the result and
 * "ready", then waits to be killed.
 */
public final class TcpRankMain {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]), rank = Integer.parseInt(args[1]), size = Integer.parseInt(args[2]);
        TcpSetup s = TcpSetup.of("127.0.0.1", port, rank, size).withTimeouts(Duration.ofSeconds(60), Duration.ofSeconds(120));
        TcpCommunicator c = TcpCommunicator.connect(s);
        try (Tensor t = Tensor.of(new float[] {rank + 1, 10 * (rank + 1)})) {
            c.allReduceSum(t);
            System.out.println("sum " + Arrays.toString(t.toFloatArray()));
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
