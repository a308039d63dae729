package org.cce4j.core.tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the bytes of host tensors in use and their peak since the last reset, the host twin of
 * the CUDA caching allocator's counters, so that benchmarks report memory they measured. Java heap
 * arrays (kernel scratch, the baseline's logits) are not tensors; benchmarks add the heap's peak
 * growth from the JVM's memory pools to this.
 */
public final class HostMemory {
    private static final AtomicLong IN_USE = new AtomicLong();
    private static final AtomicLong PEAK = new AtomicLong();

    private HostMemory() {}

    static void allocated(long bytes) {
        long now = IN_USE.addAndGet(bytes);
        PEAK.accumulateAndGet(now, Math::max);
    }

    static void freed(long bytes) {
        IN_USE.addAndGet(-bytes);
    }

    public static long bytesInUse() {
        return IN_USE.get();
    }

    public static long peakBytes() {
        return PEAK.get();
    }

    /** Starts a new peak from what is in use now. */
    public static void resetPeak() {
        PEAK.set(IN_USE.get());
    }
}
