package org.cce4j.core.cpu;

import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** sgemm in every transposition, ragged sizes across block edges, β = 0 and 1, against float64. */
class CpuGemmTest {
    @Test
    void matchesFloat64ProductsForEveryTransposition() {
        SplittableRandom rnd = new SplittableRandom(9);
        int[][] sizes = {{1, 1, 1}, {5, 7, 3}, {130, 300, 270}, {257, 33, 513}, {64, 64, 64}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    for (float beta : new float[] {0f, 1f}) {
                        check(rnd, m, n, k, ta, tb, beta, CpuKernelSelector.best());
                        if (m < 100) check(rnd, m, n, k, ta, tb, beta, CpuKernelSelector.scalar());
                    }
                }
            }
        }
    }

    private static void check(SplittableRandom rnd, int m, int n, int k, boolean ta, boolean tb, float beta, CpuKernels kr) {
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        float[] a = random(rnd, (ta ? k : m) * lda), b = random(rnd, (tb ? n : k) * ldb), c = random(rnd, m * ldc);
        double[] expected = new double[m * ldc];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < ldc; j++) {
                double acc = beta * c[i * ldc + j];
                if (j < n) {
                    for (int p = 0; p < k; p++) {
                        double av = ta ? a[p * lda + i] : a[i * lda + p];
                        double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                        acc += av * bv;
                    }
                } else {
                    acc = c[i * ldc + j]; // outside the n columns C is untouched
                }
                expected[i * ldc + j] = acc;
            }
        }
        try (Tensor ta_ = Tensor.of(a, a.length); Tensor tb_ = Tensor.of(b, b.length); Tensor tc = Tensor.of(c, c.length)) {
            CpuGemm.gemm(kr, ta, tb, m, n, k, ta_.data(), 0, lda, tb_.data(), 0, ldb, beta, tc.data(), 0, ldc);
            float[] got = tc.toFloatArray();
            double worst = 0;
            for (int i = 0; i < got.length; i++) {
                double err = Math.abs(got[i] - expected[i]) / (Math.sqrt(k) + Math.abs(expected[i]));
                worst = Math.max(worst, err);
            }
            String what = "m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " tb=" + tb + " beta=" + beta + " " + kr.description();
            assertTrue(worst < 1e-5, what + ": worst scaled error " + worst);
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
