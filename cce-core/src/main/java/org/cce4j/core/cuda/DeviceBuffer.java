package org.cce4j.core.cuda;

/**
 * One block of device memory from the {@link DeviceAllocator}. Closing returns it to the cache
 * (once; a second close does nothing), so it can serve as a {@link org.cce4j.core.tensor.Tensor}'s owner.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final long pointer;
    private final long bytes;
    private final long capacity;
    private final DeviceAllocator allocator;
    private boolean closed;

    DeviceBuffer(long pointer, long bytes, long capacity, DeviceAllocator allocator) {
        this.pointer = pointer;
        this.bytes = bytes;
        this.capacity = capacity;
        this.allocator = allocator;
    }

    public long pointer() {
        return pointer;
    }

    public long bytes() {
        return bytes;
    }

    long capacity() {
        return capacity;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        allocator.release(this);
    }
}
