package org.cce4j.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.LongStream;

/**
 * Converts runs of elements between dtypes in host memory. The common model-loading paths
 * (bf16/f16/f32 into f32 or bf16) have tight loops of their own; everything else goes through
 * a double (floats) or a long (integers), which is exact for every pair but U64 beyond 2^53.
 * Large runs are split into chunks converted in parallel.
 */
public final class DTypeConversion {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final long PARALLEL_CHUNK = 1 << 20;

    private DTypeConversion() {}

    public static void convert(MemorySegment src, DType srcType, MemorySegment dst, DType dstType, long count) {
        if (srcType == dstType) {
            MemorySegment.copy(src, 0, dst, 0, count * srcType.byteSize());
            return;
        }
        if (count <= 4 * PARALLEL_CHUNK) {
            convertRange(src, srcType, dst, dstType, 0, count);
            return;
        }
        long chunks = (count + PARALLEL_CHUNK - 1) / PARALLEL_CHUNK;
        LongStream.range(0, chunks).parallel().forEach(c -> {
            long from = c * PARALLEL_CHUNK;
            convertRange(src, srcType, dst, dstType, from, Math.min(count, from + PARALLEL_CHUNK));
        });
    }

    private static void convertRange(MemorySegment src, DType s, MemorySegment dst, DType d, long from, long to) {
        if (s == DType.BF16 && d == DType.F32) {
            for (long i = from; i < to; i++) {
                dst.set(F32, i * 4, Float.intBitsToFloat(src.get(I16, i * 2) << 16));
            }
        } else if (s == DType.F16 && d == DType.F32) {
            for (long i = from; i < to; i++) {
                dst.set(F32, i * 4, Float.float16ToFloat(src.get(I16, i * 2)));
            }
        } else if (s == DType.F32 && d == DType.BF16) {
            for (long i = from; i < to; i++) {
                dst.set(I16, i * 2, FloatFormats.f32ToBf16(src.get(F32, i * 4)));
            }
        } else if (s == DType.F32 && d == DType.F16) {
            for (long i = from; i < to; i++) {
                dst.set(I16, i * 2, Float.floatToFloat16(src.get(F32, i * 4)));
            }
        } else {
            Tensor in = Tensor.wrap(src, s, count(src, s));
            Tensor out = Tensor.wrap(dst, d, count(dst, d));
            boolean viaFloat = s.isFloatingPoint() || d.isFloatingPoint();
            for (long i = from; i < to; i++) {
                if (!viaFloat) {
                    out.setLong(i, in.getLong(i));
                } else if (d == DType.F64) {
                    out.setDouble(i, in.getDouble(i));
                } else {
                    out.setFloat(i, (float) in.getDouble(i));
                }
            }
        }
    }

    private static long count(MemorySegment seg, DType t) {
        return seg.byteSize() / t.byteSize();
    }
}
