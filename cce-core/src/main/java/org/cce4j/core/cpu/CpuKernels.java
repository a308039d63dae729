package org.cce4j.core.cpu;

import java.lang.foreign.MemorySegment;

/**
 * The inner loops of the CPU loss: one register-blocked matrix micro-kernel and the element-wise
 * passes over logit tiles. Two implementations with one contract: {@link VectorKernels} (the
 * Vector API, when the JVM runs with {@code --add-modules jdk.incubator.vector}) and
 * {@link ScalarKernels} (plain Java). The micro-kernels of both sum each output over k in the same
 * order with fused multiply-adds, so they agree bit for bit; the element-wise reductions differ in
 * summation order only.
 * <pre>
 *   gemmTile:  C[4 × nr] += A[4 × k] · B[k × nr]
 *     A(i, kk) = a[aOff + i*aRowStride + kk*aColStride]     (any strides: broadcast one at a time)
 *     B(kk, j) = b[bOff + kk*ldb + j],  j < nr contiguous   (vector loads)
 *     C(i, j)  = c[cOff + i*ldc + j]
 *     fastest with rows of A contiguous (aColStride 1) and B packed in panels (ldb = nr)
 *
 *   gemmPanel: C[5 × pw] += A[5 × k] · B[k × pw]      (the general matrix product's kernel, {@link CpuGemm})
 *     A(i, kk) = a[aOff + kk*5 + i]                        (packed: the five rows' values of one kk side by side)
 *     B(kk, j) = b[bOff + kk*pw + j]                       (packed: one micro-panel of pw = panelWidth() columns)
 *     C(i, j)  = c[cOff + i*ldc + j]
 * </pre>
 * gemmPanel's five rows keep ten accumulators, more than the FMA latency times the FMA units, so
 * that no chain of additions sets the pace; with both operands packed it reads A and B sequentially
 * and its bounds checks leave the loop.
 * The element-wise passes work on one row x of a tile against per-column vectors (shift, mul, acc)
 * of the same length: in the loss a row is one vocabulary entry and a column one token.
 */
public interface CpuKernels {
    /** Rows of a micro-tile. */
    int MR = 4;

    /** Rows of a {@link #gemmPanel} tile. */
    int PR = 5;

    /** Columns of a {@link #gemmTile} micro-tile: four vectors of the widest species with AVX-512, two otherwise, 16 for the scalar kernels. */
    int nr();

    /**
     * Columns of a {@link #gemmPanel} tile: two vectors of the widest species (ten accumulators for its
     * five rows), 16 for the scalar kernels. Not {@link #nr()}: with AVX-512's 32 registers gemmTile is
     * four vectors wide, gemmPanel stays at two.
     */
    int panelWidth();

    /** A short description for benchmark output. */
    String description();

    void gemmTile(int k, float[] a, int aOff, int aRowStride, int aColStride,
                  float[] b, int bOff, int ldb, float[] c, int cOff, int ldc);

    /** C[PR × panelWidth()] += A·B over k, with A and B packed (see the class comment); each C element one fused multiply-add chain in kk order. */
    void gemmPanel(int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc);

    /** Σ x[j]. */
    float sum(float[] x, int off, int len);

    /** Σ x[j]·y[j]. */
    float dot(float[] x, int xOff, float[] y, int yOff, int len);

    /** max |x[j]|. */
    float absMax(float[] x, int off, int len);

    /** x[j] = cap · tanh(x[j] / cap). */
    void softcap(float[] x, int off, int len, float cap);

    /** out[j] = 1 − (x[j] / cap)²: the derivative of the softcap at its output x. */
    void softcapDerivative(float[] x, int xOff, float[] out, int outOff, int len, float cap);

    /** max x[j] (−∞ for len 0). */
    float max(float[] x, int off, int len);

    /** x[j] = exp(x[j] − shift); returns Σ x[j] after (exp(−∞) = 0). */
    float expShiftSum(float[] x, int off, int len, float shift);

    /** out[j] = 1 / (1 + exp(−x[j])). */
    void sigmoid(float[] x, int xOff, float[] out, int outOff, int len);

    /** out[j] = tanh(x[j]). */
    void tanh(float[] x, int xOff, float[] out, int outOff, int len);

    /** y[j] += s · x[j], one fused multiply-add per element. */
    void axpy(float s, float[] x, int xOff, float[] y, int yOff, int len);

    /** acc[j] = max(acc[j], x[j]). */
    void maxInto(float[] x, int xOff, float[] acc, int len);

    /** acc[j] = max(acc[j], |x[j]|). */
    void absMaxInto(float[] x, int xOff, float[] acc, int len);

    /** acc[j] += exp(x[j] − shift[j]). */
    void sumExpInto(float[] x, int xOff, float[] shift, float[] acc, int len);

    /** x[j] = exp(x[j] − shift[j]) · mul[j] + add. */
    void expMulAdd(float[] x, int xOff, float[] shift, float[] mul, float add, int len);

    /** x[j] *= y[j]. */
    void mul(float[] x, int xOff, float[] y, int yOff, int len);

    /** y[j] += x[j]. */
    void addTo(float[] x, int xOff, float[] y, int yOff, int len);

    /** The f32 run dst[dstByteOffset ..] += x[xOff .. xOff+len]. */
    void addToSegment(float[] x, int xOff, MemorySegment dst, long dstByteOffset, int len);

    /**
     * Runs {@code iterations} steps of twelve independent fused multiply-add chains of this kernel
     * set's width and returns the flops done (2 per FMA lane): divided by the time taken, the FMA
     * throughput these kernels can reach on one core, the yardstick for the micro-kernel.
     */
    double fmaProbe(long iterations);
}
