package org.cce4j.core.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.LongStream;

/**
 * Converts runs of elements between dtypes in host memory. The common model-loading paths
 * (bf16/f16/f32 into f32 or bf16) have tight loops of their own; everything else goes through
 * a double (floats) or a long (integers), which is exact for every pair but U64 beyond 2^53.
 * Large runs are split into chunks converted in parallel.
 * <p>
 * bf16 to f32 is the checkpoint-loading hot path: it moves four elements per step as one 64-bit
 * load and two 64-bit stores (a bf16 is the top half of its f32, so the work is shifts and masks),
 * which keeps up with memory bandwidth without the Vector API:
 * <pre>
 *   in  (one long, little-endian):  b3 | b2 | b1 | b0          16 bits each
 *   out (two longs):                b1 0000 | b0 0000    b3 0000 | b2 0000
 * </pre>
 */
public final class DTypeConversion {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final boolean LITTLE_ENDIAN = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN;
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
            if (LITTLE_ENDIAN) {
                long groups = (to - from) / 4;
                for (long g = 0; g < groups; g++) {
                    long i = from + 4 * g;
                    long x = src.get(I64, i * 2);
                    dst.set(I64, i * 4, ((x & 0xFFFFL) << 16) | ((x & 0xFFFF0000L) << 32));
                    dst.set(I64, i * 4 + 8, ((x >>> 16) & 0xFFFF0000L) | (x & 0xFFFF000000000000L));
                }
                from += 4 * groups;
            }
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
