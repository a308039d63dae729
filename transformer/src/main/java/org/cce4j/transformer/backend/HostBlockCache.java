package org.cce4j.transformer.backend;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU backend's uninitialized tensors ({@link Backend#empty}), served from blocks that earlier
 * tensors of the same byte size gave back: the host twin of the CUDA caching allocator. A training
 * step allocates and frees the same activation shapes every step, and a fresh host tensor costs a
 * zeroed allocation (pages faulted in and cleared) and a shared arena's close, about 4% of a small
 * model's CPU step. A block is an owned {@link Tensor#zeros} tensor, so the host memory counters
 * count cached blocks as in use (what PyTorch calls reserved); at most {@link #CAP_BYTES} wait in the
 * cache, and a block given back beyond that is freed.
 */
final class HostBlockCache {
    // shared by every CpuBackend (a static of CpuBackend): cached blocks are off-heap and outlive any one backend
    static final long CAP_BYTES = 256L << 20;

    private final Map<Long, ArrayDeque<Tensor>> free = new HashMap<>();
    private long cachedBytes;

    /** A tensor of this dtype and shape over a cached block (contents undefined), or over a fresh zeroed one. */
    Tensor take(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(Shapes.numel(shape), (long) dtype.byteSize());
        Tensor block = null;
        synchronized (this) {
            ArrayDeque<Tensor> q = free.get(bytes);
            if (q != null && !q.isEmpty()) {
                block = q.pop();
                cachedBytes -= bytes;
            }
        }
        if (block == null) block = Tensor.zeros(DType.U8, bytes);
        Tensor owned = block;
        return Tensor.wrap(owned.data(), dtype, shape, Device.CPU, () -> give(owned));
    }

    private void give(Tensor block) {
        long bytes = block.byteSize();
        synchronized (this) {
            if (cachedBytes + bytes <= CAP_BYTES) {
                free.computeIfAbsent(bytes, b -> new ArrayDeque<>()).push(block);
                cachedBytes += bytes;
                return;
            }
        }
        block.close();
    }

    /** Frees every cached block. */
    void clear() {
        synchronized (this) {
            free.values().forEach(q -> q.forEach(Tensor::close));
            free.clear();
            cachedBytes = 0;
        }
    }
}
