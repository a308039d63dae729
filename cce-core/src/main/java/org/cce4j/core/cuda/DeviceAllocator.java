package org.cce4j.core.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching device allocator, like PyTorch's: freed blocks go back to a free list keyed by their
 * rounded size and are handed out again without cuMemAlloc/cuMemFree (which synchronize the
 * device). It counts the bytes in use and their peak, so benchmarks can report what an operation
 * costs ({@link #peakBytes()} after {@link #resetPeak()}, like torch.cuda.max_memory_allocated).
 * <pre>
 *   request ≤ 1 MiB  → rounded up to 512 B        request > 1 MiB → rounded up to 2 MiB
 * </pre>
 * All work goes to one stream per device, so a block freed by the host can be reused by the next
 * launch without events: the stream orders the old reads before the new writes.
 * Out of memory: the cache is released and the allocation tried once more.
 */
public final class DeviceAllocator {
    private static final long SMALL = 1L << 20;
    private final Driver driver;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long inUse, peak, cached;

    DeviceAllocator(Driver driver) {
        this.driver = driver;
    }

    /** The bytes a request of {@code bytes} occupies (what the counters count). */
    public static long roundSize(long bytes) {
        long b = Math.max(bytes, 1);
        return b <= SMALL ? (b + 511) & ~511L : (b + (2L << 20) - 1) & ~((2L << 20) - 1);
    }

    /** A block of at least {@code bytes} (contents undefined); the caller must have the device's context current. */
    public synchronized DeviceBuffer allocate(long bytes) {
        long size = roundSize(bytes);
        ArrayDeque<Long> list = free.get(size);
        long ptr;
        if (list != null && !list.isEmpty()) {
            ptr = list.pop();
            cached -= size;
        } else {
            ptr = driver.memAlloc(size);
            if (ptr == 0) {
                releaseCache();
                ptr = driver.memAlloc(size);
                if (ptr == 0) {
                    long[] info = driver.memInfo();
                    throw new org.cce4j.core.OutOfDeviceMemoryException("the GPU (cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY)", size, inUse, info[0], info[1]);
                }
            }
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        return new DeviceBuffer(ptr, bytes, size, this);
    }

    synchronized void release(DeviceBuffer b) {
        inUse -= b.capacity();
        free.computeIfAbsent(b.capacity(), k -> new ArrayDeque<>()).push(b.pointer());
        cached += b.capacity();
    }

    /** Returns every cached block to the driver. */
    public synchronized void releaseCache() {
        for (Map.Entry<Long, ArrayDeque<Long>> e : free.entrySet()) {
            for (long p : e.getValue()) driver.memFree(p);
        }
        free.clear();
        cached = 0;
    }

    /** Bytes handed out and not yet released (rounded sizes). */
    public synchronized long bytesInUse() {
        return inUse;
    }

    /** The largest {@link #bytesInUse()} since the last {@link #resetPeak()}. */
    public synchronized long peakBytes() {
        return peak;
    }

    public synchronized void resetPeak() {
        peak = inUse;
    }

    /** Bytes held in the free lists. */
    public synchronized long cachedBytes() {
        return cached;
    }
}
