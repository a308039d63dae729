package org.cce4j.checkpoints.safetensors;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor to write: its name, the dtype and shape it gets in the file, and where its bytes come
 * from. When {@code sourceType} is null the source already holds the file's bytes; otherwise it
 * holds {@code sourceType} elements that the writer converts chunk by chunk while streaming (so
 * f32 master weights can be saved as bf16 without a bf16 copy of the model in memory).
 */
public record TensorEntry(String name, SafetensorsDType dtype, long[] shape, MemorySegment source, DType sourceType) {
    public TensorEntry {
        shape = shape.clone();
        long numel = Shapes.numel(shape);
        if (sourceType == null) {
            long bytes = dtype.byteCount(numel);
            if (bytes < 0) {
                throw new IllegalArgumentException(name + ": " + Shapes.toString(shape) + " of " + dtype + " is not a whole number of bytes");
            }
            if (source.byteSize() != bytes) {
                throw new IllegalArgumentException(name + ": " + source.byteSize() + " source bytes for " + dtype + Shapes.toString(shape) + " (" + bytes + " needed)");
            }
        } else {
            if (!dtype.hasDType()) {
                throw new IllegalArgumentException(name + ": cannot convert into " + dtype + ", which has no compute dtype");
            }
            if (source.byteSize() != numel * sourceType.byteSize()) {
                throw new IllegalArgumentException(name + ": " + source.byteSize() + " source bytes for " + sourceType + Shapes.toString(shape));
            }
        }
    }

    /** A host tensor written as it is. */
    public static TensorEntry of(String name, Tensor t) {
        return new TensorEntry(name, SafetensorsDType.of(t.dtype()), t.shape(), t.data(), null);
    }

    /** A host tensor written as {@code fileType}, converted while streaming (no conversion when equal). */
    public static TensorEntry of(String name, Tensor t, DType fileType) {
        if (fileType == t.dtype()) return of(name, t);
        return new TensorEntry(name, SafetensorsDType.of(fileType), t.shape(), t.data(), t.dtype());
    }

    /** Raw bytes of any safetensors dtype (the way to write F4, F6_*, F8_E8M0, FNUZ and C64 tensors). */
    public static TensorEntry raw(String name, SafetensorsDType dtype, long[] shape, MemorySegment bytes) {
        return new TensorEntry(name, dtype, shape, bytes, null);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    /** Bytes this tensor occupies in the file. */
    public long fileBytes() {
        return dtype.byteCount(numel());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry e && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape)
                && source.equals(e.source) && sourceType == e.sourceType;
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name + " " + dtype + Shapes.toString(shape);
    }
}
