package org.cce4j.core.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * SIMD kernels on the Vector API's widest float species (16 lanes with AVX-512, 8 with AVX2).
 * The micro-kernel holds a 4 × 4-vector block of C in sixteen registers on AVX-512 (per k: four
 * loads of B, four broadcasts of A, sixteen FMAs) and a 4 × 2-vector block on narrower machines,
 * whose sixteen registers would not hold the larger one. Element-wise passes use exp and tanh
 * written here from exact lane operations (see "deterministic vector math"), so that results do not
 * change with JIT warm-up. This class is only loaded when the incubator module is present
 * ({@link CpuKernelSelector}). The system property {@code cce4j.vectorBits} (256 or 512) sets the
 * width instead of the machine, so that one machine's tests run the other width's layouts too (a
 * width the hardware lacks runs as plain Java: slowly, with the same results).
 */
final class VectorKernels implements CpuKernels {
    private static final VectorSpecies<Float> S = species(System.getProperty("cce4j.vectorBits"));
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Vectors per micro-tile row: four where there are 32 vector registers (AVX-512), else two. */
    private static final int NV = L >= 16 ? 4 : 2;

    private static VectorSpecies<Float> species(String bits) {
        if (bits == null) return FloatVector.SPECIES_PREFERRED;
        return switch (bits) {
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("-Dcce4j.vectorBits=" + bits + ": 256 or 512, or unset for the machine's widest");
        };
    }

    @Override
    public int nr() {
        return NV * L;
    }

    @Override
    public int panelWidth() {
        return 2 * L;
    }

    @Override
    public String description() {
        return "Vector API, " + S.vectorBitSize() + "-bit (" + L + " floats), 4x" + (NV * L) + " tiles";
    }

    @Override
    public void gemmTile(int k, float[] a, int aOff, int aRowStride, int aColStride,
                         float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        if (NV == 4) {
            tile4x4(k, a, aOff, aRowStride, aColStride, b, bOff, ldb, c, cOff, ldc);
        } else if (aColStride == 1 && ldb == 2 * L) {
            tile4x2Packed(k, a, aOff, aRowStride, b, bOff, c, cOff, ldc);
        } else {
            tile4x2(k, a, aOff, aRowStride, aColStride, b, bOff, ldb, c, cOff, ldc);
        }
    }

    /**
     * 4 rows × 4 vectors: sixteen accumulators, four B loads and four broadcasts per sixteen FMAs
     * (21 of AVX-512's 32 registers).
     */
    private static void tile4x4(int k, float[] a, int aOff, int aRowStride, int aColStride,
                                float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        int c0 = cOff, c1 = cOff + ldc, c2 = cOff + 2 * ldc, c3 = cOff + 3 * ldc;
        FloatVector x00 = FloatVector.fromArray(S, c, c0), x01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector x02 = FloatVector.fromArray(S, c, c0 + 2 * L), x03 = FloatVector.fromArray(S, c, c0 + 3 * L);
        FloatVector x10 = FloatVector.fromArray(S, c, c1), x11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector x12 = FloatVector.fromArray(S, c, c1 + 2 * L), x13 = FloatVector.fromArray(S, c, c1 + 3 * L);
        FloatVector x20 = FloatVector.fromArray(S, c, c2), x21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector x22 = FloatVector.fromArray(S, c, c2 + 2 * L), x23 = FloatVector.fromArray(S, c, c2 + 3 * L);
        FloatVector x30 = FloatVector.fromArray(S, c, c3), x31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector x32 = FloatVector.fromArray(S, c, c3 + 2 * L), x33 = FloatVector.fromArray(S, c, c3 + 3 * L);
        int a0 = aOff, a1 = aOff + aRowStride, a2 = aOff + 2 * aRowStride, a3 = aOff + 3 * aRowStride;
        int bo = bOff;
        for (int kk = 0; kk < k; kk++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo), b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector b2 = FloatVector.fromArray(S, b, bo + 2 * L), b3 = FloatVector.fromArray(S, b, bo + 3 * L);
            FloatVector y = FloatVector.broadcast(S, a[a0]);
            x00 = y.fma(b0, x00); x01 = y.fma(b1, x01); x02 = y.fma(b2, x02); x03 = y.fma(b3, x03);
            y = FloatVector.broadcast(S, a[a1]);
            x10 = y.fma(b0, x10); x11 = y.fma(b1, x11); x12 = y.fma(b2, x12); x13 = y.fma(b3, x13);
            y = FloatVector.broadcast(S, a[a2]);
            x20 = y.fma(b0, x20); x21 = y.fma(b1, x21); x22 = y.fma(b2, x22); x23 = y.fma(b3, x23);
            y = FloatVector.broadcast(S, a[a3]);
            x30 = y.fma(b0, x30); x31 = y.fma(b1, x31); x32 = y.fma(b2, x32); x33 = y.fma(b3, x33);
            a0 += aColStride;
            a1 += aColStride;
            a2 += aColStride;
            a3 += aColStride;
            bo += ldb;
        }
        x00.intoArray(c, c0); x01.intoArray(c, c0 + L); x02.intoArray(c, c0 + 2 * L); x03.intoArray(c, c0 + 3 * L);
        x10.intoArray(c, c1); x11.intoArray(c, c1 + L); x12.intoArray(c, c1 + 2 * L); x13.intoArray(c, c1 + 3 * L);
        x20.intoArray(c, c2); x21.intoArray(c, c2 + L); x22.intoArray(c, c2 + 2 * L); x23.intoArray(c, c2 + 3 * L);
        x30.intoArray(c, c3); x31.intoArray(c, c3 + L); x32.intoArray(c, c3 + 2 * L); x33.intoArray(c, c3 + 3 * L);
    }

    /**
     * tile4x2 for rows of A stored contiguously and B packed in panels of nr columns: every index is
     * affine in kk with a constant scale, so the JIT hoists the bounds checks out of the loop (with
     * variable strides it cannot, and they cost as much as the FMAs). The same chains as tile4x2.
     */
    private static void tile4x2Packed(int k, float[] a, int aOff, int aRowStride, float[] b, int bOff, float[] c, int cOff, int ldc) {
        final int nr = 2 * L;
        int c0 = cOff, c1 = cOff + ldc, c2 = cOff + 2 * ldc, c3 = cOff + 3 * ldc;
        FloatVector acc00 = FloatVector.fromArray(S, c, c0), acc01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector acc10 = FloatVector.fromArray(S, c, c1), acc11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector acc20 = FloatVector.fromArray(S, c, c2), acc21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector acc30 = FloatVector.fromArray(S, c, c3), acc31 = FloatVector.fromArray(S, c, c3 + L);
        int a0 = aOff, a1 = aOff + aRowStride, a2 = aOff + 2 * aRowStride, a3 = aOff + 3 * aRowStride;
        for (int kk = 0; kk < k; kk++) {
            int bo = bOff + kk * nr;
            FloatVector b0 = FloatVector.fromArray(S, b, bo), b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            acc00 = x.fma(b0, acc00);
            acc01 = x.fma(b1, acc01);
            x = FloatVector.broadcast(S, a[a1 + kk]);
            acc10 = x.fma(b0, acc10);
            acc11 = x.fma(b1, acc11);
            x = FloatVector.broadcast(S, a[a2 + kk]);
            acc20 = x.fma(b0, acc20);
            acc21 = x.fma(b1, acc21);
            x = FloatVector.broadcast(S, a[a3 + kk]);
            acc30 = x.fma(b0, acc30);
            acc31 = x.fma(b1, acc31);
        }
        acc00.intoArray(c, c0);
        acc01.intoArray(c, c0 + L);
        acc10.intoArray(c, c1);
        acc11.intoArray(c, c1 + L);
        acc20.intoArray(c, c2);
        acc21.intoArray(c, c2 + L);
        acc30.intoArray(c, c3);
        acc31.intoArray(c, c3 + L);
    }

    /** 4 rows × 2 vectors: eight accumulators, within AVX2's sixteen registers. */
    private static void tile4x2(int k, float[] a, int aOff, int aRowStride, int aColStride,
                                float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        int c0 = cOff, c1 = cOff + ldc, c2 = cOff + 2 * ldc, c3 = cOff + 3 * ldc;
        FloatVector acc00 = FloatVector.fromArray(S, c, c0), acc01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector acc10 = FloatVector.fromArray(S, c, c1), acc11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector acc20 = FloatVector.fromArray(S, c, c2), acc21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector acc30 = FloatVector.fromArray(S, c, c3), acc31 = FloatVector.fromArray(S, c, c3 + L);
        int a0 = aOff, a1 = aOff + aRowStride, a2 = aOff + 2 * aRowStride, a3 = aOff + 3 * aRowStride;
        int bo = bOff;
        for (int kk = 0; kk < k; kk++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector x = FloatVector.broadcast(S, a[a0]);
            acc00 = x.fma(b0, acc00);
            acc01 = x.fma(b1, acc01);
            x = FloatVector.broadcast(S, a[a1]);
            acc10 = x.fma(b0, acc10);
            acc11 = x.fma(b1, acc11);
            x = FloatVector.broadcast(S, a[a2]);
            acc20 = x.fma(b0, acc20);
            acc21 = x.fma(b1, acc21);
            x = FloatVector.broadcast(S, a[a3]);
            acc30 = x.fma(b0, acc30);
            acc31 = x.fma(b1, acc31);
            a0 += aColStride;
            a1 += aColStride;
            a2 += aColStride;
            a3 += aColStride;
            bo += ldb;
        }
        acc00.intoArray(c, c0);
        acc01.intoArray(c, c0 + L);
        acc10.intoArray(c, c1);
        acc11.intoArray(c, c1 + L);
        acc20.intoArray(c, c2);
        acc21.intoArray(c, c2 + L);
        acc30.intoArray(c, c3);
        acc31.intoArray(c, c3 + L);
    }

    /**
     * 5 rows × 2 vectors from packed operands: ten accumulators, two loads of B and five broadcasts
     * of A per ten FMAs. Five rows, not six: with twelve accumulators C2's register allocator spills
     * one of them to the stack inside the loop, which puts a store and a load on its chain and halves
     * the throughput (seen in the generated code). Indices are affine in kk with constant scales, so
     * that the JIT hoists the array bounds checks out of the loop.
     */
    @Override
    public void gemmPanel(int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        final int nr = 2 * L;
        int c0 = cOff, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc;
        FloatVector x00 = FloatVector.fromArray(S, c, c0), x01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector x10 = FloatVector.fromArray(S, c, c1), x11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector x20 = FloatVector.fromArray(S, c, c2), x21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector x30 = FloatVector.fromArray(S, c, c3), x31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector x40 = FloatVector.fromArray(S, c, c4), x41 = FloatVector.fromArray(S, c, c4 + L);
        for (int kk = 0; kk < k; kk++) {
            int ao = aOff + kk * PR, bo = bOff + kk * nr;
            FloatVector b0 = FloatVector.fromArray(S, b, bo), b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector y = FloatVector.broadcast(S, a[ao]);
            x00 = y.fma(b0, x00); x01 = y.fma(b1, x01);
            y = FloatVector.broadcast(S, a[ao + 1]);
            x10 = y.fma(b0, x10); x11 = y.fma(b1, x11);
            y = FloatVector.broadcast(S, a[ao + 2]);
            x20 = y.fma(b0, x20); x21 = y.fma(b1, x21);
            y = FloatVector.broadcast(S, a[ao + 3]);
            x30 = y.fma(b0, x30); x31 = y.fma(b1, x31);
            y = FloatVector.broadcast(S, a[ao + 4]);
            x40 = y.fma(b0, x40); x41 = y.fma(b1, x41);
        }
        x00.intoArray(c, c0); x01.intoArray(c, c0 + L);
        x10.intoArray(c, c1); x11.intoArray(c, c1 + L);
        x20.intoArray(c, c2); x21.intoArray(c, c2 + L);
        x30.intoArray(c, c3); x31.intoArray(c, c3 + L);
        x40.intoArray(c, c4); x41.intoArray(c, c4 + L);
    }

    @Override
    public float max(float[] x, int off, int len) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j <= len - L; j += L) acc = acc.max(FloatVector.fromArray(S, x, off + j));
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; j < len; j++) m = Math.max(m, x[off + j]);
        return m;
    }

    @Override
    public float expShiftSum(float[] x, int off, int len, float shift) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, off + j).sub(shift));
            e.intoArray(x, off + j);
            acc = acc.add(e);
        }
        float s = laneSum(acc);
        for (; j < len; j++) {
            float e = exp1(x[off + j] - shift);
            x[off + j] = e;
            s += e;
        }
        return s;
    }

    @Override
    public void sigmoid(float[] x, int xOff, float[] out, int outOff, int len) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int j = 0;
        for (; j <= len - L; j += L) {
            one.div(exp(FloatVector.fromArray(S, x, xOff + j).neg()).add(one)).intoArray(out, outOff + j);
        }
        for (; j < len; j++) out[outOff + j] = 1f / (1f + exp1(-x[xOff + j]));
    }

    @Override
    public void tanh(float[] x, int xOff, float[] out, int outOff, int len) {
        int j = 0;
        for (; j <= len - L; j += L) tanh(FloatVector.fromArray(S, x, xOff + j)).intoArray(out, outOff + j);
        for (; j < len; j++) out[outOff + j] = tanh1(x[xOff + j]);
    }

    @Override
    public void axpy(float s, float[] x, int xOff, float[] y, int yOff, int len) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int j = 0;
        for (; j <= len - L; j += L) {
            sv.fma(FloatVector.fromArray(S, x, xOff + j), FloatVector.fromArray(S, y, yOff + j)).intoArray(y, yOff + j);
        }
        for (; j < len; j++) y[yOff + j] = Math.fma(s, x[xOff + j], y[yOff + j]);
    }

    /** exp of one value by the vector formula (lane 0), so that a tail element gets the bits a full vector would give it. */
    private static float exp1(float x) {
        return exp(FloatVector.broadcast(S, x)).lane(0);
    }

    private static float tanh1(float x) {
        return tanh(FloatVector.broadcast(S, x)).lane(0);
    }

    @Override
    public float sum(float[] x, int off, int len) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (; j <= len - L; j += L) acc = acc.add(FloatVector.fromArray(S, x, off + j));
        float s = laneSum(acc);
        for (; j < len; j++) s += x[off + j];
        return s;
    }

    @Override
    public float dot(float[] x, int xOff, float[] y, int yOff, int len) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (; j <= len - L; j += L) acc = FloatVector.fromArray(S, x, xOff + j).fma(FloatVector.fromArray(S, y, yOff + j), acc);
        float s = laneSum(acc);
        for (; j < len; j++) s = Math.fma(x[xOff + j], y[yOff + j], s);
        return s;
    }

    @Override
    public float absMax(float[] x, int off, int len) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (; j <= len - L; j += L) acc = acc.max(FloatVector.fromArray(S, x, off + j).abs());
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; j < len; j++) m = Math.max(m, Math.abs(x[off + j]));
        return m;
    }

    @Override
    public void softcap(float[] x, int off, int len, float cap) {
        float inv = 1f / cap;
        int j = 0;
        for (; j <= len - L; j += L) {
            tanh(FloatVector.fromArray(S, x, off + j).mul(inv)).mul(cap).intoArray(x, off + j);
        }
        for (; j < len; j++) x[off + j] = cap * (float) Math.tanh(x[off + j] * inv);
    }

    @Override
    public void softcapDerivative(float[] x, int xOff, float[] out, int outOff, int len, float cap) {
        float inv = 1f / cap;
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector t = FloatVector.fromArray(S, x, xOff + j).mul(inv);
            t.neg().fma(t, FloatVector.broadcast(S, 1f)).intoArray(out, outOff + j);
        }
        for (; j < len; j++) {
            float t = x[xOff + j] * inv;
            out[outOff + j] = 1f - t * t;
        }
    }

    @Override
    public void maxInto(float[] x, int xOff, float[] acc, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector.fromArray(S, acc, j).max(FloatVector.fromArray(S, x, xOff + j)).intoArray(acc, j);
        }
        for (; j < len; j++) acc[j] = Math.max(acc[j], x[xOff + j]);
    }

    @Override
    public void absMaxInto(float[] x, int xOff, float[] acc, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector.fromArray(S, acc, j).max(FloatVector.fromArray(S, x, xOff + j).abs()).intoArray(acc, j);
        }
        for (; j < len; j++) acc[j] = Math.max(acc[j], Math.abs(x[xOff + j]));
    }

    @Override
    public void sumExpInto(float[] x, int xOff, float[] shift, float[] acc, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, xOff + j).sub(FloatVector.fromArray(S, shift, j)));
            FloatVector.fromArray(S, acc, j).add(e).intoArray(acc, j);
        }
        for (; j < len; j++) acc[j] += (float) Math.exp(x[xOff + j] - shift[j]);
    }

    @Override
    public void expMulAdd(float[] x, int xOff, float[] shift, float[] mul, float add, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, xOff + j).sub(FloatVector.fromArray(S, shift, j)));
            e.fma(FloatVector.fromArray(S, mul, j), FloatVector.broadcast(S, add)).intoArray(x, xOff + j);
        }
        for (; j < len; j++) x[xOff + j] = (float) Math.exp(x[xOff + j] - shift[j]) * mul[j] + add;
    }

    @Override
    public void mul(float[] x, int xOff, float[] y, int yOff, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector.fromArray(S, x, xOff + j).mul(FloatVector.fromArray(S, y, yOff + j)).intoArray(x, xOff + j);
        }
        for (; j < len; j++) x[xOff + j] *= y[yOff + j];
    }

    @Override
    public void addTo(float[] x, int xOff, float[] y, int yOff, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector.fromArray(S, y, yOff + j).add(FloatVector.fromArray(S, x, xOff + j)).intoArray(y, yOff + j);
        }
        for (; j < len; j++) y[yOff + j] += x[xOff + j];
    }

    @Override
    public void addToSegment(float[] x, int xOff, MemorySegment dst, long dstByteOffset, int len) {
        int j = 0;
        for (; j <= len - L; j += L) {
            long o = dstByteOffset + 4L * j;
            FloatVector.fromMemorySegment(S, dst, o, ORDER).add(FloatVector.fromArray(S, x, xOff + j)).intoMemorySegment(dst, o, ORDER);
        }
        for (; j < len; j++) {
            long o = dstByteOffset + 4L * j;
            dst.set(F32, o, dst.get(F32, o) + x[xOff + j]);
        }
    }

    @Override
    public double fmaProbe(long iterations) {
        FloatVector x = FloatVector.broadcast(S, 0.999f), y = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f), a4 = a0.add(4f),
                a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f), a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y);
            a4 = a4.fma(x, y); a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y);
            a8 = a8.fma(x, y); a9 = a9.fma(x, y); a10 = a10.fma(x, y); a11 = a11.fma(x, y);
        }
        float sink = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
        return sink == 42f ? 0 : 2.0 * 12 * L * iterations;
    }

    // ---- deterministic vector math ---------------------------------------------------------------
    // The Vector API's own EXP and TANH (SVML when compiled, Java fallbacks before) and its ADD
    // reduction (a tree when compiled, left to right before) give different bits in different JIT
    // tiers. These use only IEEE-exact lane operations, so a result never depends on warm-up.

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5·2^23: x + R − R rounds x to an integer, ties to even
    private static final float EXP_LO = -87.33654f;
    private static final float EXP_HI = 88.37626f; // keeps 2^k finite (k <= 127); the loss only takes exp of x <= ~0

    /** e^x to about 1 ulp (Cephes expf): x = k·ln2 + r, e^r by a degree-6 polynomial, times 2^k; 0 below −87.3. */
    static FloatVector exp(FloatVector x) {
        var underflow = x.compare(VectorOperators.LT, EXP_LO);
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        FloatVector k = xc.mul(LOG2E).add(ROUNDER).sub(ROUNDER);
        FloatVector r = k.neg().fma(FloatVector.broadcast(S, LN2_HI), xc);
        r = k.neg().fma(FloatVector.broadcast(S, LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector er = p.mul(r).fma(r, r).add(1f);
        IntVector bits = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scale = bits.reinterpretAsFloats();
        return er.mul(scale).blend(0f, underflow);
    }

    /** tanh(x) to a few ulp (Cephes tanhf): an odd polynomial below |x| = 0.625, 1 − 2/(e^2|x| + 1) above. */
    static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector z = x.mul(x);
        FloatVector small = FloatVector.broadcast(S, -5.70498872745e-3f);
        small = small.fma(z, FloatVector.broadcast(S, 2.06390887954e-2f));
        small = small.fma(z, FloatVector.broadcast(S, -5.37397155531e-2f));
        small = small.fma(z, FloatVector.broadcast(S, 1.33314422036e-1f));
        small = small.fma(z, FloatVector.broadcast(S, -3.33332819422e-1f));
        small = small.mul(z).fma(x, x);
        FloatVector large = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(ax.add(ax)).add(1f)));
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        return large.blend(small, ax.compare(VectorOperators.LT, 0.625f));
    }

    /** The lanes summed left to right. */
    private static float laneSum(FloatVector v) {
        float[] lanes = LANES.get();
        v.intoArray(lanes, 0);
        float s = 0;
        for (int i = 0; i < L; i++) s += lanes[i];
        return s;
    }

    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[L]);
}
