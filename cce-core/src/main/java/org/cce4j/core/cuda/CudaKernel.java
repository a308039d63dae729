package org.cce4j.core.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One kernel function and its launch. Arguments are packed the way cuLaunchKernel wants them, an
 * array of pointers to each value: {@code Long} for device pointers and 64-bit integers,
 * {@code Integer}, {@code Float}, and a {@link MemorySegment} for a struct passed by value (a TMA
 * descriptor). The order and types must match the kernel's signature exactly.
 */
public final class CudaKernel {
    private final CudaDevice device;
    private final MemorySegment function;
    private final String name;
    private int sharedLimit = 48 * 1024;

    CudaKernel(CudaDevice device, MemorySegment function, String name) {
        this.device = device;
        this.function = function;
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** Launches a (gridX × gridY) grid of 1-D blocks on the device's stream. */
    public synchronized void launch(int gridX, int gridY, int blockX, int sharedBytes, Object... args) {
        if (gridX <= 0 || gridY <= 0) return; // nothing to do
        if (sharedBytes > sharedLimit) {
            device.driver().functionAttribute(function, 8, sharedBytes, name); // MAX_DYNAMIC_SHARED_SIZE_BYTES
            sharedLimit = sharedBytes;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ADDRESS, Math.max(args.length, 1));
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = switch (args[i]) {
                    case Long l -> a.allocateFrom(JAVA_LONG, l);
                    case Integer v -> a.allocateFrom(JAVA_INT, v);
                    case Float f -> a.allocateFrom(JAVA_FLOAT, f);
                    case Double x -> a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_DOUBLE, x);
                    case MemorySegment s -> {
                        MemorySegment copy = a.allocate(s.byteSize(), 64);
                        MemorySegment.copy(s, 0, copy, 0, s.byteSize());
                        yield copy;
                    }
                    case Boolean b -> a.allocateFrom(JAVA_INT, b ? 1 : 0);
                    case Byte b -> a.allocateFrom(JAVA_BYTE, b);
                    default -> throw new IllegalArgumentException("kernel " + name + ": argument " + i + " of type "
                            + args[i].getClass().getSimpleName() + " cannot be passed");
                };
                params.setAtIndex(ADDRESS, i, slot);
            }
            device.driver().launch(function, gridX, gridY, 1, blockX, 1, 1, sharedBytes, device.stream(), params, name);
        }
        if (device.debugSync()) device.synchronize(name);
    }
}
