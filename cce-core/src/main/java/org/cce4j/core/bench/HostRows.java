package org.cce4j.core.bench;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.FloatFormats;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Whole rows of a host [rows, cols] f32, bf16 or f16 tensor in and out of float arrays, for the input
 * generators and the statistics, which touch hundreds of millions of elements: one bulk copy per row
 * (with the rounding of {@link FloatFormats}) instead of a dtype switch per element.
 */
final class HostRows {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private HostRows() {}

    /** Reads row {@code row} of {@code t} (its last dimension is the row) into {@code out}. */
    static void read(Tensor t, long row, float[] out) {
        int cols = out.length;
        MemorySegment data = t.data();
        long base = row * cols;
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(data, F32, base * 4, out, 0, cols);
            case BF16 -> {
                for (int k = 0; k < cols; k++) out[k] = FloatFormats.bf16ToF32(data.get(I16, (base + k) * 2));
            }
            case F16 -> {
                for (int k = 0; k < cols; k++) out[k] = FloatFormats.f16ToF32(data.get(I16, (base + k) * 2));
            }
            default -> {
                for (int k = 0; k < cols; k++) out[k] = t.getFloat(base + k);
            }
        }
    }

    /** Writes {@code values} into row {@code row} of {@code t}, rounded to its dtype. */
    static void write(Tensor t, long row, float[] values) {
        int cols = values.length;
        MemorySegment data = t.data();
        long base = row * cols;
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(values, 0, data, F32, base * 4, cols);
            case BF16 -> {
                for (int k = 0; k < cols; k++) data.set(I16, (base + k) * 2, FloatFormats.f32ToBf16(values[k]));
            }
            case F16 -> {
                for (int k = 0; k < cols; k++) data.set(I16, (base + k) * 2, FloatFormats.f32ToF16(values[k]));
            }
            default -> {
                for (int k = 0; k < cols; k++) t.setFloat(base + k, values[k]);
            }
        }
    }

    /** The values as {@code dtype} would store them (what a row reads back after {@link #write}). */
    static void round(float[] values, DType dtype) {
        if (dtype == DType.BF16) {
            for (int k = 0; k < values.length; k++) values[k] = FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(values[k]));
        } else if (dtype == DType.F16) {
            for (int k = 0; k < values.length; k++) values[k] = FloatFormats.f16ToF32(FloatFormats.f32ToF16(values[k]));
        }
    }
}
