package org.cce4j.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Plain-Java kernels: the path taken when the Vector API module is absent, and the readable
 * statement of what {@link VectorKernels} computes. The micro-kernel keeps a 4×16 block of
 * accumulators and uses {@link Math#fma}, like the vector one, so the two agree bit for bit.
 */
final class ScalarKernels implements CpuKernels {
    private static final int NR = 16;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final ThreadLocal<float[]> accumulators = ThreadLocal.withInitial(() -> new float[PR * NR]);

    @Override
    public int nr() {
        return NR;
    }

    @Override
    public int panelWidth() {
        return NR;
    }

    @Override
    public String description() {
        return "scalar (no Vector API)";
    }

    @Override
    public void gemmTile(int k, float[] a, int aOff, int aRowStride, int aColStride,
                         float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        float[] acc = accumulators.get();
        for (int i = 0; i < MR; i++) {
            System.arraycopy(c, cOff + i * ldc, acc, i * NR, NR);
        }
        for (int kk = 0; kk < k; kk++) {
            int bRow = bOff + kk * ldb;
            for (int i = 0; i < MR; i++) {
                float ai = a[aOff + i * aRowStride + kk * aColStride];
                int accRow = i * NR;
                for (int j = 0; j < NR; j++) {
                    acc[accRow + j] = Math.fma(ai, b[bRow + j], acc[accRow + j]);
                }
            }
        }
        for (int i = 0; i < MR; i++) {
            System.arraycopy(acc, i * NR, c, cOff + i * ldc, NR);
        }
    }

    @Override
    public void gemmPanel(int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        float[] acc = accumulators.get();
        for (int i = 0; i < PR; i++) {
            System.arraycopy(c, cOff + i * ldc, acc, i * NR, NR);
        }
        for (int kk = 0; kk < k; kk++) {
            int bRow = bOff + kk * NR, aCol = aOff + kk * PR;
            for (int i = 0; i < PR; i++) {
                float ai = a[aCol + i];
                int accRow = i * NR;
                for (int j = 0; j < NR; j++) {
                    acc[accRow + j] = Math.fma(ai, b[bRow + j], acc[accRow + j]);
                }
            }
        }
        for (int i = 0; i < PR; i++) {
            System.arraycopy(acc, i * NR, c, cOff + i * ldc, NR);
        }
    }

    @Override
    public float max(float[] x, int off, int len) {
        float m = Float.NEGATIVE_INFINITY;
        for (int j = off; j < off + len; j++) m = Math.max(m, x[j]);
        return m;
    }

    @Override
    public float expShiftSum(float[] x, int off, int len, float shift) {
        float s = 0;
        for (int j = off; j < off + len; j++) {
            float e = (float) Math.exp(x[j] - shift);
            x[j] = e;
            s += e;
        }
        return s;
    }

    @Override
    public void sigmoid(float[] x, int xOff, float[] out, int outOff, int len) {
        for (int j = 0; j < len; j++) out[outOff + j] = 1f / (1f + (float) Math.exp(-x[xOff + j]));
    }

    @Override
    public void tanh(float[] x, int xOff, float[] out, int outOff, int len) {
        for (int j = 0; j < len; j++) out[outOff + j] = (float) Math.tanh(x[xOff + j]);
    }

    @Override
    public void axpy(float s, float[] x, int xOff, float[] y, int yOff, int len) {
        for (int j = 0; j < len; j++) y[yOff + j] = Math.fma(s, x[xOff + j], y[yOff + j]);
    }

    @Override
    public float sum(float[] x, int off, int len) {
        float s = 0;
        for (int j = off; j < off + len; j++) s += x[j];
        return s;
    }

    @Override
    public float dot(float[] x, int xOff, float[] y, int yOff, int len) {
        float s = 0;
        for (int j = 0; j < len; j++) s = Math.fma(x[xOff + j], y[yOff + j], s);
        return s;
    }

    @Override
    public float absMax(float[] x, int off, int len) {
        float m = 0;
        for (int j = off; j < off + len; j++) m = Math.max(m, Math.abs(x[j]));
        return m;
    }

    @Override
    public void softcap(float[] x, int off, int len, float cap) {
        float inv = 1f / cap;
        for (int j = off; j < off + len; j++) x[j] = cap * (float) Math.tanh(x[j] * inv);
    }

    @Override
    public void softcapDerivative(float[] x, int xOff, float[] out, int outOff, int len, float cap) {
        float inv = 1f / cap;
        for (int j = 0; j < len; j++) {
            float t = x[xOff + j] * inv;
            out[outOff + j] = 1f - t * t;
        }
    }

    @Override
    public void maxInto(float[] x, int xOff, float[] acc, int len) {
        for (int j = 0; j < len; j++) acc[j] = Math.max(acc[j], x[xOff + j]);
    }

    @Override
    public void absMaxInto(float[] x, int xOff, float[] acc, int len) {
        for (int j = 0; j < len; j++) acc[j] = Math.max(acc[j], Math.abs(x[xOff + j]));
    }

    @Override
    public void sumExpInto(float[] x, int xOff, float[] shift, float[] acc, int len) {
        for (int j = 0; j < len; j++) acc[j] += (float) Math.exp(x[xOff + j] - shift[j]);
    }

    @Override
    public void expMulAdd(float[] x, int xOff, float[] shift, float[] mul, float add, int len) {
        for (int j = 0; j < len; j++) x[xOff + j] = (float) Math.exp(x[xOff + j] - shift[j]) * mul[j] + add;
    }

    @Override
    public void mul(float[] x, int xOff, float[] y, int yOff, int len) {
        for (int j = 0; j < len; j++) x[xOff + j] *= y[yOff + j];
    }

    @Override
    public void addTo(float[] x, int xOff, float[] y, int yOff, int len) {
        for (int j = 0; j < len; j++) y[yOff + j] += x[xOff + j];
    }

    @Override
    public void addToSegment(float[] x, int xOff, MemorySegment dst, long dstByteOffset, int len) {
        for (int j = 0; j < len; j++) {
            long o = dstByteOffset + 4L * j;
            dst.set(F32, o, dst.get(F32, o) + x[xOff + j]);
        }
    }

    @Override
    public double fmaProbe(long iterations) {
        float x = 0.999f, y = 1e-7f;
        float a0 = 1, a1 = 2, a2 = 3, a3 = 4, a4 = 5, a5 = 6, a6 = 7, a7 = 8, a8 = 9, a9 = 10, a10 = 11, a11 = 12;
        for (long i = 0; i < iterations; i++) {
            a0 = Math.fma(a0, x, y); a1 = Math.fma(a1, x, y); a2 = Math.fma(a2, x, y); a3 = Math.fma(a3, x, y);
            a4 = Math.fma(a4, x, y); a5 = Math.fma(a5, x, y); a6 = Math.fma(a6, x, y); a7 = Math.fma(a7, x, y);
            a8 = Math.fma(a8, x, y); a9 = Math.fma(a9, x, y); a10 = Math.fma(a10, x, y); a11 = Math.fma(a11, x, y);
        }
        float sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return sink == 42f ? 0 : 2.0 * 12 * iterations;
    }
}
