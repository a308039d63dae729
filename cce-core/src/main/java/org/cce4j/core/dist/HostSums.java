package org.cce4j.core.dist;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.FloatFormats;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The element-wise sums of the host communicators, in the tensor's own type as NCCL adds them: f32 in
 * f32, f64 in f64, bf16 and f16 rounded back to their format after every addition, integers wrapping.
 * The callers add the ranks' contributions in rank order (0, 1, 2 ...), so that a sum is the same bits
 * however the ranks arrive, which is what lets tests compare exactly.
 */
final class HostSums {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private HostSums() {}

    /** Whether sums of this dtype are supported (every collective moves any dtype; only sums need this). */
    static boolean summable(DType t) {
        return switch (t) {
            case F32, F64, BF16, F16, I32, I64 -> true;
            default -> false;
        };
    }

    /** {@code acc[i] += x[i]} for {@code count} elements of {@code type}. */
    static void addInto(MemorySegment acc, MemorySegment x, DType type, long count) {
        switch (type) {
            case F32 -> {
                for (long i = 0; i < count; i++) acc.setAtIndex(F32, i, acc.getAtIndex(F32, i) + x.getAtIndex(F32, i));
            }
            case F64 -> {
                for (long i = 0; i < count; i++) acc.setAtIndex(F64, i, acc.getAtIndex(F64, i) + x.getAtIndex(F64, i));
            }
            case BF16 -> {
                for (long i = 0; i < count; i++) {
                    float s = FloatFormats.bf16ToF32(acc.getAtIndex(I16, i)) + FloatFormats.bf16ToF32(x.getAtIndex(I16, i));
                    acc.setAtIndex(I16, i, FloatFormats.f32ToBf16(s));
                }
            }
            case F16 -> {
                for (long i = 0; i < count; i++) {
                    float s = FloatFormats.f16ToF32(acc.getAtIndex(I16, i)) + FloatFormats.f16ToF32(x.getAtIndex(I16, i));
                    acc.setAtIndex(I16, i, FloatFormats.f32ToF16(s));
                }
            }
            case I32 -> {
                for (long i = 0; i < count; i++) acc.setAtIndex(I32, i, acc.getAtIndex(I32, i) + x.getAtIndex(I32, i));
            }
            case I64 -> {
                for (long i = 0; i < count; i++) acc.setAtIndex(I64, i, acc.getAtIndex(I64, i) + x.getAtIndex(I64, i));
            }
            default -> throw new IllegalArgumentException("sums of " + type.shortName() + " tensors are not supported");
        }
    }
}
