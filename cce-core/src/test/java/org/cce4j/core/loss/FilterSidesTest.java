package org.cce4j.core.loss;

import org.cce4j.core.loss.cpu.CpuCutCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.testing.RelativeError;
import org.junit.jupiter.api.Test;

import static org.cce4j.core.loss.LossCase.flat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * filterEGrad and filterCGrad switch the gradient filter of each side on its own (CCE's
 * "cce_kahan_full_c" keeps dC unfiltered): with a side's filter off, that side equals cce-exact's
 * gradient to f32 rounding (and the float64 reference to the usual 1e-4), while the other side is
 * bit for bit what cce computes with both filters on. The problem makes filtering visible: logits
 * of variance 4 over 700 entries (most probabilities near 1/700) and eps = 1e-2, so that the
 * filtered gradients differ from the exact ones by 1e-3 to 1e-2, far more than rounding (checked,
 * so that the comparisons can fail).
 */
class FilterSidesTest {
    /** Reordered f32 sums (the sorted vocabulary walk) stay far below this; filtering here is far above it. */
    private static final double ROUNDING = 1e-6;

    private record Grads(double[] dE, double[] dC, double[] dBias) {}

    private static Grads run(LinearCrossEntropy impl, LossCase lc, CceOptions o) {
        CceInputs in = lc.inputs();
        try (CceForward f = impl.forward(in, o); CceGradients g = impl.backward(f, lc.upstreamTensor(), null)) {
            return new Grads(g.dEmbeddings().toDoubleArray(), g.dClassifier().toDoubleArray(), g.dBias().toDoubleArray());
        } finally {
            LossCase.close(in);
        }
    }

    private static LossCase filterVisible(long seed) {
        return new LossCase(seed, new long[] {2, 60}, 700, 32, DType.F32, 4, 0.05, true, false,
                CceOptions.defaults().withFilterEps(1e-2f).withReduction(Reduction.SUM).withShift(1));
    }

    private static void assertEqualToRounding(double[] exact, double[] actual, String what) {
        RelativeError.assertClose(exact, actual, ROUNDING, what);
    }

    private static void assertFilteringShows(double[] exact, double[] filtered, String what) {
        double err = RelativeError.of(exact, filtered);
        assertTrue(err > 100 * ROUNDING, what + ": filtering changed it by only " + err + ", the test could not tell");
    }

    @Test
    void fullClassifierGradientWithAFilteredEmbeddingGradient() {
        LossCase lc = filterVisible(41);
        CpuCutCrossEntropy cce = new CpuCutCrossEntropy(false);
        Grads filtered = run(cce, lc, lc.options);
        Grads exact = run(new CpuCutCrossEntropy(true), lc, lc.options);
        Grads fullC = run(cce, lc, lc.options.withFilterCGrad(false));
        assertFilteringShows(exact.dC(), filtered.dC(), "dC");
        assertFilteringShows(exact.dE(), filtered.dE(), "dE");

        assertEqualToRounding(exact.dC(), fullC.dC(), "dC without its filter vs cce-exact");
        assertEqualToRounding(exact.dBias(), fullC.dBias(), "dBias without the classifier's filter vs cce-exact");
        assertArrayEquals(filtered.dE(), fullC.dE(), "dE keeps its filter: the filtered cce result, bit for bit");
        NaiveCrossEntropy ref = lc.reference();
        RelativeError.assertClose(flat(ref.dC), fullC.dC(), 1e-4, "dC without its filter vs float64");
    }

    @Test
    void fullEmbeddingGradientWithAFilteredClassifierGradient() {
        LossCase lc = filterVisible(42);
        CpuCutCrossEntropy cce = new CpuCutCrossEntropy(false);
        Grads filtered = run(cce, lc, lc.options);
        Grads exact = run(new CpuCutCrossEntropy(true), lc, lc.options);
        Grads fullE = run(cce, lc, lc.options.withFilterEGrad(false));
        assertFilteringShows(exact.dE(), filtered.dE(), "dE");
        assertFilteringShows(exact.dC(), filtered.dC(), "dC");

        assertEqualToRounding(exact.dE(), fullE.dE(), "dE without its filter vs cce-exact");
        assertArrayEquals(filtered.dC(), fullE.dC(), "dC keeps its filter: the filtered cce result, bit for bit");
        assertArrayEquals(filtered.dBias(), fullE.dBias(), "dBias keeps the classifier's filter");
        NaiveCrossEntropy ref = lc.reference();
        RelativeError.assertClose(flat(ref.dE), fullE.dE(), 1e-4, "dE without its filter vs float64");
    }

    @Test
    void bothFiltersOffIsTheExactGradient() {
        LossCase lc = filterVisible(43);
        Grads exact = run(new CpuCutCrossEntropy(true), lc, lc.options);
        Grads none = run(new CpuCutCrossEntropy(false), lc, lc.options.withFilterEGrad(false).withFilterCGrad(false));
        assertEqualToRounding(exact.dE(), none.dE(), "dE");
        assertEqualToRounding(exact.dC(), none.dC(), "dC");
        assertEqualToRounding(exact.dBias(), none.dBias(), "dBias");
    }
}
