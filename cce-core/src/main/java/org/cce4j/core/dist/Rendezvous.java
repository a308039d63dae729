package org.cce4j.core.dist;

import java.util.function.Supplier;

/**
 * The bootstrap of a multi-process job: the ranks meet over TCP ({@link TcpSetup}), rank 0 makes some
 * bytes (NCCL's 128-byte unique id) and every rank leaves with them. The TCP connections close
 * afterwards; errors are {@link CommunicatorException}s naming the rank that was missing or died.
 */
public final class Rendezvous {
    private Rendezvous() {}

    /**
     * @param atRankZero called on rank 0 only, after every rank has connected
     * @return rank 0's bytes, on every rank
     */
    public static byte[] exchange(TcpSetup setup, Supplier<byte[]> atRankZero) {
        try (TcpCommunicator c = TcpCommunicator.connect(setup)) {
            return c.broadcastBytes(setup.rank() == 0 ? atRankZero.get() : null);
        }
    }
}
