package org.cce4j.core.cpu;

import org.cce4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * sgemm and its panel kernel against float64 and against the scalar kernels, as a list of what
 * disagrees: shared by {@link CpuGemmTest} (the kernels of this JVM) and by {@link VectorWidthsTest},
 * whose child JVMs run {@link #main} at a vector width the machine may not have. CpuGemm sums every C
 * element as one fused multiply-add chain over k, so the Vector API result must equal the scalar one
 * bit for bit whatever the width, the blocking or the threads.
 */
final class GemmCheck {
    /** Ragged sizes: one element, the linear layers of the gradient test, several panels of either width, two k blocks of KC. */
    static final int[][] SIZES = {{1, 1, 1}, {5, 7, 3}, {7, 6, 9}, {7, 9, 6}, {13, 70, 300}, {33, 129, 17}, {64, 64, 64}};

    private GemmCheck() {}

    /** What disagrees for op(A)·op(B) of m × n × k, every transposition and β, with kernels {@code kr}. */
    static List<String> gemm(SplittableRandom rnd, int m, int n, int k, CpuKernels kr) {
        List<String> bad = new ArrayList<>();
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (float beta : new float[] {0f, 1f}) {
                    String err = gemm(rnd, m, n, k, ta, tb, beta, kr);
                    if (err != null) bad.add(err);
                }
            }
        }
        return bad;
    }

    private static String gemm(SplittableRandom rnd, int m, int n, int k, boolean ta, boolean tb, float beta, CpuKernels kr) {
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
        float[] got = product(kr, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        float[] scalar = product(CpuKernelSelector.scalar(), ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        String what = "m=" + m + " n=" + n + " k=" + k + " ta=" + ta + " tb=" + tb + " beta=" + beta + " " + kr.description();
        double worst = 0;
        int differs = -1;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - expected[i]) / (Math.sqrt(k) + Math.abs(expected[i])));
            if (differs < 0 && Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(scalar[i])) differs = i;
        }
        if (worst >= 1e-5) return what + ": worst scaled error against float64 " + worst;
        if (differs >= 0) return what + ": element " + differs + " is " + got[differs] + ", the scalar kernels give " + scalar[differs];
        return null;
    }

    private static float[] product(CpuKernels kr, boolean ta, boolean tb, int m, int n, int k,
                                   float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc) {
        try (Tensor ta_ = Tensor.of(a, a.length); Tensor tb_ = Tensor.of(b, b.length); Tensor tc = Tensor.of(c, c.length)) {
            CpuGemm.gemm(kr, ta, tb, m, n, k, ta_.data(), 0, lda, tb_.data(), 0, ldb, beta, tc.data(), 0, ldc);
            return tc.toFloatArray();
        }
    }

    /** What disagrees in C[PR × pw] += A·B of the packed panel kernel: all {@code kr.panelWidth()} columns, and not one beyond. */
    static List<String> panel(CpuKernels kr) {
        int pr = CpuKernels.PR, k = 53, nr = kr.panelWidth(), ldc = nr + 3;
        SplittableRandom r = new SplittableRandom(3);
        float[] a = random(r, 2 + k * pr), b = random(r, 1 + k * nr), c = random(r, pr * ldc);
        float[] c0 = c.clone();
        kr.gemmPanel(k, a, 2, b, 1, c, 0, ldc);
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < pr; i++) {
            for (int j = 0; j < ldc; j++) {
                double e = c0[i * ldc + j];
                if (j < nr) for (int kk = 0; kk < k; kk++) e += (double) a[2 + kk * pr + i] * b[1 + kk * nr + j];
                if (Math.abs(e - c[i * ldc + j]) > 1e-4 * (1 + Math.abs(e))) {
                    bad.add(kr.description() + " gemmPanel C(" + i + ", " + j + ") = " + c[i * ldc + j] + ", expected " + e);
                }
            }
        }
        return bad;
    }

    /** "" when nothing disagrees, else the count and the first few. */
    static String summary(List<String> bad) {
        if (bad.isEmpty()) return "";
        return bad.size() + " disagreements, the first:\n" + String.join("\n", bad.subList(0, Math.min(10, bad.size())));
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** Checks this JVM's best kernels; prints their description and what disagrees (at most 20 lines); exit 1 if anything does. */
    public static void main(String[] args) {
        CpuKernels kr = CpuKernelSelector.best();
        System.out.println("kernels: " + kr.description());
        List<String> bad = new ArrayList<>(panel(kr));
        SplittableRandom rnd = new SplittableRandom(9);
        for (int[] s : SIZES) bad.addAll(gemm(rnd, s[0], s[1], s[2], kr));
        bad.stream().limit(20).forEach(System.out::println);
        System.out.println(bad.size() + " disagreements");
        System.exit(bad.isEmpty() ? 0 : 1);
    }
}
