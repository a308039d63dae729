package org.cce4j.core.cpu;

import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The Vector API kernels against the scalar ones: the micro-kernel bit for bit, the rest to rounding. */
class CpuKernelsTest {
    private final SplittableRandom rnd = new SplittableRandom(5);

    private float[] random(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian() * 3;
        return x;
    }

    @Test
    void vectorKernelsAgreeWithScalarOnes() {
        Assumptions.assumeTrue(CpuKernelSelector.simdAvailable(), "the Vector API module is not in this JVM");
        CpuKernels v = CpuKernelSelector.best();
        CpuKernels s = CpuKernelSelector.scalar();
        int nr = v.nr(), k = 37;
        float[] a = random(4 * k * 3), b = random(k * nr * 2);
        float[] cv = random(4 * nr * 2), cs = cv.clone();
        for (int tile = 0; tile < nr / s.nr(); tile++) {
            s.gemmTile(k, a, 1, 3 * k, 3, b, tile * s.nr(), 2 * nr, cs, tile * s.nr(), 2 * nr);
        }
        v.gemmTile(k, a, 1, 3 * k, 3, b, 0, 2 * nr, cv, 0, 2 * nr);
        assertArrayEquals(cs, cv, "gemmTile must agree bit for bit (same order of fused multiply-adds)");

        int n = 203;
        float[] x = random(n), shift = random(n), mul = random(n);
        assertEquals(s.sum(x, 3, 150), v.sum(x, 3, 150), 1e-4f);
        assertEquals(s.dot(x, 0, mul, 0, n), v.dot(x, 0, mul, 0, n), 1e-3f);
        assertEquals(s.absMax(x, 1, 170), v.absMax(x, 1, 170));
        float[] xs = x.clone(), xv = x.clone();
        s.softcap(xs, 0, n, 2.5f);
        v.softcap(xv, 0, n, 2.5f);
        assertArrayEquals(xs, xv, 1e-5f);
        float[] es = new float[n], ev = new float[n];
        s.sumExpInto(x, 0, shift, es, n);
        v.sumExpInto(x, 0, shift, ev, n);
        for (int i = 0; i < n; i++) assertEquals(es[i], ev[i], 1e-5f * Math.max(1, es[i]));
        xs = x.clone();
        xv = x.clone();
        s.expMulAdd(xs, 0, shift, mul, -0.25f, n);
        v.expMulAdd(xv, 0, shift, mul, -0.25f, n);
        for (int i = 0; i < n; i++) assertEquals(xs[i], xv[i], 1e-5f * Math.max(1, Math.abs(xs[i])));
        try (Tensor dst = Tensor.of(random(n), n); Tensor dst2 = Tensor.of(dst.toFloatArray(), n)) {
            s.addToSegment(x, 0, dst.data(), 0, n);
            v.addToSegment(x, 0, dst2.data(), 0, n);
            assertArrayEquals(dst.toFloatArray(), dst2.toFloatArray());
        }
    }
}
