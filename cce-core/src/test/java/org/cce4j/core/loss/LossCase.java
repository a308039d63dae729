package org.cce4j.core.loss;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.FloatFormats;
import org.cce4j.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A random loss problem with its float64 reference, and the comparison of an implementation's
 * results with it. Inputs are rounded to their storage dtype first, so the reference sees exactly
 * the values the implementation reads.
 */
final class LossCase {
    final long[] leading;
    final int n, v, d, seqLen;
    final double[][] e, c;
    final double[] bias, weights;
    final long[] targets;
    final CceOptions options;
    final double[] upstream;
    final DType dtype;

    LossCase(long seed, long[] leading, int v, int d, DType dtype, double logitScale, double ignoredFraction,
             boolean withBias, boolean withWeights, CceOptions options) {
        SplittableRandom rnd = new SplittableRandom(seed);
        this.leading = leading;
        long nn = 1;
        for (long x : leading) nn *= x;
        this.n = (int) nn;
        this.v = v;
        this.d = d;
        this.seqLen = (int) leading[leading.length - 1];
        this.dtype = dtype;
        this.options = options;
        double s = Math.sqrt(logitScale) / Math.pow(d, 0.25);
        e = new double[n][d];
        c = new double[v][d];
        for (double[] row : e) for (int k = 0; k < d; k++) row[k] = round(rnd.nextGaussian() * s);
        for (double[] row : c) for (int k = 0; k < d; k++) row[k] = round(rnd.nextGaussian() * s);
        bias = withBias ? new double[v] : null;
        if (bias != null) for (int j = 0; j < v; j++) bias[j] = round(rnd.nextGaussian());
        weights = withWeights ? new double[n] : null;
        if (weights != null) for (int r = 0; r < n; r++) weights[r] = (float) rnd.nextDouble(0, 2);
        targets = new long[n];
        for (int r = 0; r < n; r++) targets[r] = rnd.nextDouble() < ignoredFraction ? options.ignoreIndex() : rnd.nextInt(v);
        upstream = new double[options.reduction() == Reduction.NONE ? n : 1];
        for (int r = 0; r < upstream.length; r++) upstream[r] = (float) rnd.nextDouble(0.5, 2);
    }

    private double round(double x) {
        float f = (float) x;
        return switch (dtype) {
            case BF16 -> FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(f));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(f));
            default -> f;
        };
    }

    NaiveCrossEntropy reference() {
        return new NaiveCrossEntropy(e, c, bias, targets, weights, seqLen, options, upstream);
    }

    CceInputs inputs() {
        long[] eShape = new long[leading.length + 1];
        System.arraycopy(leading, 0, eShape, 0, leading.length);
        eShape[leading.length] = d;
        CceInputs in = CceInputs.of(matrix(e, eShape), matrix(c, new long[] {v, d}), Tensor.of(targets, leading));
        if (bias != null) in = in.withBias(vector(bias, new long[] {v}));
        if (weights != null) in = in.withTokenWeights(vector(weights, leading));
        return in;
    }

    Tensor upstreamTensor() {
        return options.reduction() == Reduction.NONE ? vector(upstream, leading) : Tensor.scalar((float) upstream[0]);
    }

    private Tensor matrix(double[][] m, long[] shape) {
        Tensor t = Tensor.zeros(dtype, shape);
        int cols = m[0].length;
        for (int i = 0; i < m.length; i++) for (int k = 0; k < cols; k++) t.setFloat((long) i * cols + k, (float) m[i][k]);
        return t;
    }

    private static Tensor vector(double[] x, long[] shape) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        return Tensor.of(f, shape);
    }

    /** Runs forward and backward and compares every output with the reference. */
    void check(LinearCrossEntropy impl, double tolerance) {
        NaiveCrossEntropy ref = reference();
        CceInputs in = inputs();
        try (CceForward f = impl.forward(in, options); Tensor up = upstreamTensor();
             CceGradients g = impl.backward(f, up, null)) {
            String what = impl.getClass().getSimpleName() + " " + options;
            assertClose(ref.loss, f.lossValue(), tolerance, "loss " + what);
            assertClose(ref.tokenLoss, f.tokenLoss().toDoubleArray(), tolerance, "token loss " + what);
            double[] lse = f.lse().toDoubleArray();
            double[] refLse = ref.lse.clone();
            for (int r = 0; r < n; r++) {
                if (Double.isNaN(lse[r])) {
                    assertTrue(!options.returnLse(), "lse NaN at row " + r + " although returnLse");
                    refLse[r] = Double.NaN;
                }
            }
            assertClose(withoutNaN(refLse), withoutNaN(lse), tolerance, "lse " + what);
            assertClose(flat(ref.dE), g.dEmbeddings().toDoubleArray(), tolerance, "dE " + what);
            assertClose(flat(ref.dC), g.dClassifier().toDoubleArray(), tolerance, "dC " + what);
            if (bias != null) assertClose(ref.dBias, g.dBias().toDoubleArray(), tolerance, "dBias " + what);
        } finally {
            close(in);
        }
    }

    static void close(CceInputs in) {
        in.embeddings().close();
        in.classifier().close();
        in.targets().close();
        if (in.bias() != null) in.bias().close();
        if (in.tokenWeights() != null) in.tokenWeights().close();
    }

    static double[] flat(double[][] m) {
        double[] out = new double[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) System.arraycopy(m[i], 0, out, i * m[0].length, m[0].length);
        return out;
    }

    private static double[] withoutNaN(double[] x) {
        double[] y = x.clone();
        for (int i = 0; i < y.length; i++) if (Double.isNaN(y[i])) y[i] = 0;
        return y;
    }

    static void assertClose(double expected, double actual, double tol, String what) {
        assertTrue(Double.isFinite(actual), what + ": got " + actual);
        double err = Math.abs(expected - actual) / Math.max(Math.abs(expected), 1e-30);
        if (expected == 0) assertEquals(0.0, actual, 1e-30, what);
        else assertTrue(err <= tol, what + ": expected " + expected + ", got " + actual + " (relative error " + err + ")");
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        org.cce4j.core.testing.RelativeError.assertClose(expected, actual, tol, what);
    }
}
