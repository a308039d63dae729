package org.cce4j.checkpoints.safetensors;

import org.cce4j.core.tensor.Shapes;

import java.util.Arrays;

/**
 * One entry of a safetensors header: a tensor's name, dtype, shape and byte range
 * {@code [begin, end)} relative to the start of the data section (as in the file).
 */
public record TensorInfo(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public long byteSize() {
        return end - begin;
    }

    /** "name BF16[2048, 256]" */
    @Override
    public String toString() {
        return name + " " + dtype + Shapes.toString(shape) + " @[" + begin + ", " + end + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
