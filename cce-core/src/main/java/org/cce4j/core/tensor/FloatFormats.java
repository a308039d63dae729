package org.cce4j.core.tensor;

/**
 * Bit-exact conversions between f32 and the narrow float formats. Every narrowing conversion
 * rounds to nearest, ties to even, as PyTorch and the hardware do:
 * <pre>
 *   bf16  s eeeeeeee mmmmmmm           the top half of an f32
 *   f16   s eeeee mmmmmmmmmm            IEEE binary16 (Float.floatToFloat16 does it)
 *   e4m3  s eeee mmm   bias 7, no inf, NaN = s.1111.111, max 448 (the "fn" variant)
 *   e5m2  s eeeee mm   bias 15, IEEE-like with inf and NaN
 * </pre>
 * The fp8 encoders use a table of the 128 non-negative codes and a binary search: fp8 is a storage
 * format read once at load time, so clarity wins over speed there.
 */
public final class FloatFormats {
    private FloatFormats() {}

    public static float bf16ToF32(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    public static short f32ToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // keep the sign and payload top, force quiet
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToF32(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short f32ToF16(float value) {
        return Float.floatToFloat16(value);
    }

    private static final float[] E4M3 = decodeTable(4, 3, 7, false);
    private static final float[] E5M2 = decodeTable(5, 2, 15, true);

    public static float e4m3ToF32(byte bits) {
        return E4M3[bits & 0xff];
    }

    public static float e5m2ToF32(byte bits) {
        return E5M2[bits & 0xff];
    }

    /**
     * Values that round past 448 become NaN, as in PyTorch's float8_e4m3fn cast: everything above
     * 464 (halfway to 480, the code 0x7f would be) and inf; 464 itself ties to the even 448.
     */
    public static byte f32ToE4m3(float value) {
        return encode(value, E4M3, 0x7e, 0x7f);
    }

    /** Values of 61440 and above round to inf (ties to even), as in PyTorch's float8_e5m2 cast. */
    public static byte f32ToE5m2(float value) {
        return encode(value, E5M2, 0x7b, 0x7c);
    }

    /**
     * @param lastFinite   the code of the largest finite value
     * @param overflowCode what values past the midpoint above the largest finite value become (NaN
     *                     in e4m3, inf in e5m2); at the midpoint itself the even code of the two wins
     */
    private static byte encode(float value, float[] table, int lastFinite, int overflowCode) {
        int sign = Float.floatToRawIntBits(value) < 0 ? 0x80 : 0;
        if (Float.isNaN(value)) {
            return (byte) (0x7f | sign);
        }
        float a = Math.abs(value);
        float max = table[lastFinite];
        float overflowFrom = max + (max - table[lastFinite - 1]) / 2;
        if (a > overflowFrom || (a == overflowFrom && (overflowCode & 1) == 0)) {
            return (byte) (overflowCode | sign);
        }
        int lo = 0;
        int hi = lastFinite;
        while (hi - lo > 1) { // invariant: table[lo] <= a < table[hi] (or a >= table[hi] at the top)
            int mid = (lo + hi) >>> 1;
            if (table[mid] <= a) lo = mid; else hi = mid;
        }
        int code;
        if (a >= table[hi]) {
            code = hi;
        } else {
            float dLo = a - table[lo];
            float dHi = table[hi] - a;
            code = dLo < dHi ? lo : dHi < dLo ? hi : ((lo & 1) == 0 ? lo : hi);
        }
        return (byte) (code | sign);
    }

    private static float[] decodeTable(int expBits, int mantBits, int bias, boolean ieeeSpecials) {
        float[] t = new float[256];
        int expMax = (1 << expBits) - 1;
        for (int code = 0; code < 256; code++) {
            int sign = code >> 7;
            int exp = (code >> mantBits) & expMax;
            int mant = code & ((1 << mantBits) - 1);
            double v;
            if (ieeeSpecials && exp == expMax) {
                v = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            } else if (!ieeeSpecials && exp == expMax && mant == (1 << mantBits) - 1) {
                v = Double.NaN;
            } else if (exp == 0) {
                v = Math.scalb((double) mant / (1 << mantBits), 1 - bias);
            } else {
                v = Math.scalb(1.0 + (double) mant / (1 << mantBits), exp - bias);
            }
            t[code] = (float) (sign == 1 ? -v : v);
        }
        return t;
    }
}
