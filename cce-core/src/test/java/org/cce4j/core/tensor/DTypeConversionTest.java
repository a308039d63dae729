package org.cce4j.core.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bf16 -> f32 fast path is bit-exact: every bf16 bit pattern, every offset and tail length, serial and parallel. */
class DTypeConversionTest {
    @Test
    void bf16ToF32EveryBitPatternEveryOffset() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(2 * 65536 + 16);
            MemorySegment dst = arena.allocate(4 * 65536 + 32);
            for (int shift = 0; shift < 4; shift++) {
                for (int b = 0; b < 65536; b++) src.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (b + shift), (short) b);
                for (int len : new int[] {65536, 65535, 65534, 65533, 3, 1, 0}) {
                    dst.fill((byte) 0x5a);
                    // Unaligned source and destination (odd byte offsets) exercise the unaligned 64-bit accesses.
                    MemorySegment s = src.asSlice(2L * shift, 2L * len);
                    MemorySegment d = dst.asSlice(3 + 4L * shift, 4L * len);
                    DTypeConversion.convert(s, DType.BF16, d, DType.F32, len);
                    for (int i = 0; i < len; i++) {
                        assertEquals(i << 16, d.get(ValueLayout.JAVA_INT_UNALIGNED, 4L * i), "bits " + i + " shift " + shift + " len " + len);
                    }
                    if (len < 65536) assertEquals((byte) 0x5a, dst.get(ValueLayout.JAVA_BYTE, 3 + 4L * shift + 4L * len), "wrote past the end");
                }
            }
        }
    }

    @Test
    void bf16ToF32ParallelChunks() {
        long n = 9_000_003; // above the parallel threshold, not a multiple of 4 or of the chunk
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(2 * n);
            MemorySegment dst = arena.allocate(4 * n);
            for (long i = 0; i < n; i++) src.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, (short) (i * 40503));
            DTypeConversion.convert(src, DType.BF16, dst, DType.F32, n);
            for (long i = 0; i < n; i++) {
                int want = (short) (i * 40503) << 16;
                if (dst.get(ValueLayout.JAVA_INT_UNALIGNED, 4 * i) != want) assertEquals(want, dst.get(ValueLayout.JAVA_INT_UNALIGNED, 4 * i), "element " + i);
            }
        }
    }
}
