package org.cce4j.core.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kernels the CPU training step added (the packed panel micro-kernel and the softmax and
 * activation passes) against float64 references, for both kernel sets; the panel kernel of the
 * Vector API against the scalar one bit for bit (the same fused multiply-add chains).
 */
class CpuKernelsTrainingOpsTest {
    private final SplittableRandom rnd = new SplittableRandom(11);

    private float[] random(int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * scale);
        return x;
    }

    private static List<CpuKernels> kernelSets() {
        List<CpuKernels> k = new ArrayList<>(List.of(CpuKernelSelector.scalar()));
        if (CpuKernelSelector.simdAvailable()) k.add(CpuKernelSelector.best());
        return k;
    }

    @Test
    void thePanelKernelIsAPackedProductAndBothKernelSetsAgreeBitForBit() {
        int pr = CpuKernels.PR, k = 53;
        float[][] results = new float[2][];
        int idx = 0;
        for (CpuKernels kr : kernelSets()) {
            int nr = kr.panelWidth(), ldc = nr + 3;
            SplittableRandom r = new SplittableRandom(3);
            float[] a = new float[2 + k * pr], b = new float[1 + k * nr], c = new float[pr * ldc];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
            for (int i = 0; i < c.length; i++) c[i] = (float) r.nextGaussian();
            float[] c0 = c.clone();
            kr.gemmPanel(k, a, 2, b, 1, c, 0, ldc);
            for (int i = 0; i < pr; i++) {
                for (int j = 0; j < ldc; j++) {
                    double e = c0[i * ldc + j];
                    if (j < nr) for (int kk = 0; kk < k; kk++) e += (double) a[2 + kk * pr + i] * b[1 + kk * nr + j];
                    assertEquals(e, c[i * ldc + j], 1e-4 * (1 + Math.abs(e)), kr.description() + " C(" + i + ", " + j + ")");
                }
            }
            if (nr == 16) results[idx++] = c;
        }
        if (idx == 2) assertArrayEquals(results[0], results[1], "gemmPanel: the same chains of fused multiply-adds");
    }

    @Test
    void softmaxAndActivationPassesMatchFloat64() {
        int n = 77;   // not a multiple of any vector width: the tails are exercised
        for (CpuKernels kr : kernelSets()) {
            float[] x = random(n, 4);
            x[5] = Float.NEGATIVE_INFINITY;   // a masked score
            float m = kr.max(x, 1, n - 1);
            float expected = Float.NEGATIVE_INFINITY;
            for (int i = 1; i < n; i++) expected = Math.max(expected, x[i]);
            assertEquals(expected, m, kr.description() + " max");
            assertEquals(Float.NEGATIVE_INFINITY, kr.max(x, 0, 0), "max of nothing");

            float[] e = x.clone();
            float sum = kr.expShiftSum(e, 1, n - 1, m);
            double refSum = 0;
            for (int i = 1; i < n; i++) {
                double ref = Math.exp((double) x[i] - m);
                refSum += ref;
                assertEquals(ref, e[i], 2e-7 * Math.max(1, ref), kr.description() + " exp at " + i);
            }
            assertEquals(0f, e[5], "exp(-inf) is 0");
            assertEquals(x[0], e[0], "outside the range nothing changes");
            assertEquals(refSum, sum, 1e-6 * refSum, kr.description() + " sum of exp");

            float[] s = new float[n], t = new float[n];
            kr.sigmoid(x, 0, s, 0, n);
            kr.tanh(x, 0, t, 0, n);
            for (int i = 0; i < n; i++) {
                double sig = 1 / (1 + Math.exp(-(double) x[i]));
                assertEquals(sig, s[i], 3e-7, kr.description() + " sigmoid at " + i);
                if (Float.isFinite(x[i])) assertEquals(Math.tanh(x[i]), t[i], 3e-7, kr.description() + " tanh at " + i);
            }

            float[] y = random(n, 1), y0 = y.clone(), xs = random(n, 1);
            kr.axpy(0.75f, xs, 0, y, 0, n);
            for (int i = 0; i < n; i++) assertEquals(Math.fma(0.75f, xs[i], y0[i]), y[i], kr.description() + " axpy at " + i);
        }
    }
}
