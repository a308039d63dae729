package org.cce4j.core.loss;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float64 oracle against central finite differences of its own loss, with every option on at
 * once, so that the hand-written gradient formulas the implementations are checked against are
 * themselves right.
 */
class NaiveCrossEntropyTest {

    private static final CceOptions ALL_ON = CceOptions.defaults().withSoftcap(3f).withLabelSmoothing(0.2f)
            .withZLossWeight(0.05f).withShift(1).withIgnoreIndex(-7);

    @Test
    void gradientsMatchFiniteDifferencesForEachReduction() {
        for (Reduction red : Reduction.values()) {
            check(ALL_ON.withReduction(red), 100 + red.ordinal());
        }
    }

    private void check(CceOptions o, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 7, v = 9, d = 4, seqLen = 7;
        double[][] e = gaussian(rnd, n, d), c = gaussian(rnd, v, d);
        double[] bias = gaussian(rnd, 1, v)[0];
        double[] w = new double[n];
        for (int i = 0; i < n; i++) w[i] = rnd.nextDouble(0.2, 2);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = i == 3 ? -7 : rnd.nextInt(v);
        double[] up = new double[o.reduction() == Reduction.NONE ? n : 1];
        for (int i = 0; i < up.length; i++) up[i] = rnd.nextDouble(0.5, 2);

        NaiveCrossEntropy at = new NaiveCrossEntropy(e, c, bias, t, w, seqLen, o, up);
        double h = 1e-6;
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) {
                double keep = e[i][k];
                e[i][k] = keep + h;
                double plus = objective(e, c, bias, t, w, seqLen, o, up);
                e[i][k] = keep - h;
                double minus = objective(e, c, bias, t, w, seqLen, o, up);
                e[i][k] = keep;
                assertNear((plus - minus) / (2 * h), at.dE[i][k], "dE[" + i + "][" + k + "] " + o.reduction());
            }
        }
        for (int j = 0; j < v; j++) {
            for (int k = 0; k < d; k++) {
                double keep = c[j][k];
                c[j][k] = keep + h;
                double plus = objective(e, c, bias, t, w, seqLen, o, up);
                c[j][k] = keep - h;
                double minus = objective(e, c, bias, t, w, seqLen, o, up);
                c[j][k] = keep;
                assertNear((plus - minus) / (2 * h), at.dC[j][k], "dC[" + j + "][" + k + "] " + o.reduction());
            }
            double keep = bias[j];
            bias[j] = keep + h;
            double plus = objective(e, c, bias, t, w, seqLen, o, up);
            bias[j] = keep - h;
            double minus = objective(e, c, bias, t, w, seqLen, o, up);
            bias[j] = keep;
            assertNear((plus - minus) / (2 * h), at.dBias[j], "dBias[" + j + "] " + o.reduction());
        }
    }

    /** The scalar whose gradient the backward returns: the loss, or Σ upstream·token loss for none. */
    private static double objective(double[][] e, double[][] c, double[] b, long[] t, double[] w, int seqLen,
                                    CceOptions o, double[] up) {
        NaiveCrossEntropy x = new NaiveCrossEntropy(e, c, b, t, w, seqLen, o, up);
        if (o.reduction() != Reduction.NONE) return up[0] * x.loss;
        double s = 0;
        for (int i = 0; i < up.length; i++) s += up[i] * x.tokenLoss[i];
        return s;
    }

    private static void assertNear(double fd, double analytic, String what) {
        double err = Math.abs(fd - analytic);
        assertTrue(err <= 1e-7 + 1e-6 * Math.abs(fd), what + ": finite difference " + fd + " vs analytic " + analytic);
    }

    private static double[][] gaussian(SplittableRandom rnd, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] r : m) for (int k = 0; k < cols; k++) r[k] = rnd.nextGaussian();
        return m;
    }
}
