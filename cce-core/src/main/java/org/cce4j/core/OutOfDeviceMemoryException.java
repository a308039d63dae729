package org.cce4j.core;

/**
 * A device allocation that did not fit, with the numbers a user needs to decide what to lower: what was
 * asked, what cce4j holds, what the device has free and in all. A top-level type (not a CUDA one) so
 * that callers that never touch the CUDA runtime (the trainer) can name it in their message.
 */
public final class OutOfDeviceMemoryException extends RuntimeException {
    private final long asked, inUse, free, total;

    public OutOfDeviceMemoryException(String device, long asked, long inUse, long free, long total) {
        super(String.format("out of memory on %s: asked for %,d MiB with %,d MiB in use by cce4j, %,d of %,d MiB free",
                device, asked >> 20, inUse >> 20, free >> 20, total >> 20));
        this.asked = asked;
        this.inUse = inUse;
        this.free = free;
        this.total = total;
    }

    public long asked() {
        return asked;
    }

    public long inUse() {
        return inUse;
    }

    public long free() {
        return free;
    }

    public long total() {
        return total;
    }
}
