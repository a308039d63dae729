package org.cce4j.core.tensor;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Narrow-float conversions against a nearest-value search done in double, and known code points. */
class FloatFormatsTest {

    /** The bf16 value nearest to x by brute force over the two neighbours, ties to the even one. */
    private static short referenceBf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        short down = (short) (bits >>> 16);
        short up = (short) (down + 1);
        double dDown = Math.abs((double) x - FloatFormats.bf16ToF32(down));
        double dUp = Math.abs((double) FloatFormats.bf16ToF32(up) - x);
        if (dDown < dUp) return down;
        if (dUp < dDown) return up;
        return (down & 1) == 0 ? down : up;
    }

    @Test
    void bf16RoundsToNearestEvenOnRandomAndTieValues() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float x = Float.intBitsToFloat(rnd.nextInt() & 0x7f7fffff | (rnd.nextBoolean() ? 0x80000000 : 0));
            if (Math.abs(x) >= 3.3e38f) continue; // near the top the upper neighbour is inf
            assertEquals(referenceBf16(x), FloatFormats.f32ToBf16(x), () -> "x=" + x);
        }
        // exact ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7, and goes to the even 1
        assertEquals(1.0f, FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(1f + 0x1p-8f)));
        // 1 + 3*2^-8 lies halfway between 1+2^-7 (odd) and 1+2^-6 (even)
        assertEquals(1f + 0x1p-6f, FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(1f + 3 * 0x1p-8f)));
        assertEquals(Float.POSITIVE_INFINITY, FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(Float.MAX_VALUE)));
        assertTrue(Float.isNaN(FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(Float.NaN))));
        assertEquals((short) 0x8000, FloatFormats.f32ToBf16(-0.0f));
    }

    @Test
    void fp8CodePointsDecodeToTheirSpecifiedValues() {
        assertEquals(448f, FloatFormats.e4m3ToF32((byte) 0x7e));
        assertEquals(-448f, FloatFormats.e4m3ToF32((byte) 0xfe));
        assertEquals(0x1p-9f, FloatFormats.e4m3ToF32((byte) 0x01));
        assertEquals(1f, FloatFormats.e4m3ToF32((byte) 0x38));
        assertTrue(Float.isNaN(FloatFormats.e4m3ToF32((byte) 0x7f)));
        assertEquals(57344f, FloatFormats.e5m2ToF32((byte) 0x7b));
        assertEquals(0x1p-16f, FloatFormats.e5m2ToF32((byte) 0x01));
        assertEquals(1f, FloatFormats.e5m2ToF32((byte) 0x3c));
        assertEquals(Float.POSITIVE_INFINITY, FloatFormats.e5m2ToF32((byte) 0x7c));
        assertTrue(Float.isNaN(FloatFormats.e5m2ToF32((byte) 0x7d)));
    }

    @Test
    void fp8EncodeRoundTripsEveryFiniteCodeAndRoundsTiesToEven() {
        for (int c = 0; c < 256; c++) {
            float v = FloatFormats.e4m3ToF32((byte) c);
            if (!Float.isNaN(v)) assertEquals((byte) c, FloatFormats.f32ToE4m3(v), "e4m3 code " + c);
            float w = FloatFormats.e5m2ToF32((byte) c);
            if (!Float.isNaN(w) && !Float.isInfinite(w)) assertEquals((byte) c, FloatFormats.f32ToE5m2(w), "e5m2 code " + c);
        }
        // e4m3 around 1: neighbours 1 (0x38) and 1.125 (0x39); the midpoint goes to the even code 0x38
        assertEquals((byte) 0x38, FloatFormats.f32ToE4m3(1.0625f));
        assertEquals((byte) 0x39, FloatFormats.f32ToE4m3(1.07f));
        // 1.1875 is halfway between 1.125 (0x39) and 1.25 (0x3a, even)
        assertEquals((byte) 0x3a, FloatFormats.f32ToE4m3(1.1875f));
        // overflow as PyTorch's casts do it: past 448 e4m3 rounds toward the NaN code 0x7f (which
        // would be 480), so 464 ties to 448 and anything above is NaN; e5m2 rounds to inf
        assertEquals((byte) 0x7e, FloatFormats.f32ToE4m3(464f));
        assertEquals((byte) 0x7f, FloatFormats.f32ToE4m3(464.5f));
        assertEquals((byte) 0xff, FloatFormats.f32ToE4m3(-1e6f));
        assertEquals((byte) 0x7f, FloatFormats.f32ToE4m3(Float.POSITIVE_INFINITY));
        assertEquals((byte) 0x7b, FloatFormats.f32ToE5m2(61439f));
        assertEquals((byte) 0x7c, FloatFormats.f32ToE5m2(61440f));
        assertEquals((byte) 0xfc, FloatFormats.f32ToE5m2(Float.NEGATIVE_INFINITY));
    }

    @Test
    void tensorConversionsMatchTheScalarOnes() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextDouble(-20, 20)));
        try (Tensor f = Tensor.of(v, 10, 100); Tensor b = f.to(DType.BF16); Tensor h = f.to(DType.F16);
             Tensor back = b.to(DType.F32); Tensor d = f.to(DType.F64)) {
            for (int i = 0; i < v.length; i++) {
                assertEquals(FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(v[i])), back.getFloat(i));
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h.getFloat(i));
                assertEquals((double) v[i], d.getDouble(i));
            }
        }
        try (Tensor ints = Tensor.of(new long[] {-3, 5, 1L << 40}, 3); Tensor i32 = ints.to(DType.I32)) {
            assertEquals(-3, i32.getLong(0));
            assertEquals(5, i32.getLong(1));
        }
    }
}
