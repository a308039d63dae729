package org.cce4j.core.loss;

import org.cce4j.core.loss.cuda.CudaCutCrossEntropy;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.cce4j.core.loss.LossCase.assertClose;
import static org.cce4j.core.loss.LossCase.flat;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every CUDA implementation (cce with each backward path, cce-exact, baseline) against the float64 reference on random
 * shapes: ragged N, V off the 256-entry tile, D from 5 to 4096, every option, f32 / bf16 / f16 inputs
 * (bf16/f16 with D % 8 == 0 take the wgmma kernel on Hopper, the rest the SIMT kernels).
 * Tolerances: 1e-4 relative for f32 inputs and for every forward output; 2e-2 on the gradients of
 * bf16/f16 inputs (the baseline rounds its N×V gradient to the input type for cuBLAS, the filter
 * drops entries below 2⁻¹²). Also: the accuracy output of every forward kernel (wgmma for bf16/f16
 * with D % 8 == 0 on Hopper, SIMT otherwise, the baseline's row kernel) exactly against the float64
 * reference on problems with ties ({@link AccuracyCase}), and filterEGrad / filterCGrad on every
 * backward path. Skipped where no CUDA device is usable.
 */
@Tag("gpu")
class CudaLossAgainstReferenceTest {
    private static final double F32_TOL = 1e-4, NARROW_GRAD_TOL = 2e-2;

    private static CceOptions base() {
        return CceOptions.defaults();
    }

    /**
     * The implementation by CLI name, or one of the two backward paths of {@code cce} forced:
     * {@code cce-tiles} (the planned tiles with atomics), {@code cce-dense-chunked} (the cuBLAS
     * chunks, with a 64 KiB workspace so that every case takes several chunks of rows and entries).
     */
    private static LinearCrossEntropy impl(String name) {
        GpuAvailability.require();
        Device cuda = new Device.Cuda(0);
        return switch (name) {
            case "cce-tiles" -> new CudaCutCrossEntropy(false, cuda, CudaCutCrossEntropy.BackwardPath.TILES);
            case "cce-dense-chunked" -> new CudaCutCrossEntropy(false, cuda, CudaCutCrossEntropy.BackwardPath.DENSE, 64 << 10);
            default -> LinearCrossEntropy.create(CceImpl.parse(name), cuda);
        };
    }

    /** Runs {@code c} on the GPU and compares every output with the reference. */
    static void check(LossCase c, LinearCrossEntropy impl) {
        check(c, impl, c.reference(), c.dtype != DType.F32 ? NARROW_GRAD_TOL : F32_TOL, impl.getClass().getSimpleName());
    }

    /** The same against a given reference (a filtered one, say), the gradients to {@code gradTol}, the forward to 1e-4. */
    static void check(LossCase c, LinearCrossEntropy impl, NaiveCrossEntropy ref, double gradTol, String label) {
        CudaDevice dev = GpuAvailability.require();
        CceInputs host = c.inputs();
        CceInputs in = new CceInputs(dev.upload(host.embeddings()), dev.upload(host.classifier()), host.targets(),
                host.bias() == null ? null : dev.upload(host.bias()), host.tokenWeights());
        String what = label + " " + c.dtype + " n=" + c.n + " v=" + c.v + " d=" + c.d + " " + c.options;
        try (CceForward f = impl.forward(in, c.options); Tensor up = c.upstreamTensor();
             CceGradients g = impl.backward(f, up, null)) {
            assertClose(ref.loss, f.lossValue(), F32_TOL, "loss " + what);
            try (Tensor tl = dev.download(f.tokenLoss()); Tensor lse = dev.download(f.lse());
                 Tensor loss = dev.download(f.loss())) {
                assertClose(ref.tokenLoss, tl.toDoubleArray(), F32_TOL, "token loss " + what);
                if (c.options.reduction() != Reduction.NONE) assertClose(ref.loss, loss.getFloat(0), F32_TOL, "loss tensor " + what);
                double[] l = lse.toDoubleArray(), refLse = ref.lse.clone();
                for (int r = 0; r < c.n; r++) {
                    if (Double.isNaN(l[r])) {
                        assertTrue(!c.options.returnLse() && ref.tokenLoss[r] == 0, "lse NaN at row " + r + " " + what);
                        l[r] = 0;
                        refLse[r] = 0;
                    }
                }
                assertClose(refLse, l, F32_TOL, "lse " + what);
            }
            try (Tensor dE = dev.download(g.dEmbeddings()); Tensor dC = dev.download(g.dClassifier())) {
                assertClose(flat(ref.dE), dE.toDoubleArray(), gradTol, "dE " + what);
                assertClose(flat(ref.dC), dC.toDoubleArray(), gradTol, "dC " + what);
            }
            if (c.bias != null) {
                try (Tensor dB = dev.download(g.dBias())) {
                    assertClose(ref.dBias, dB.toDoubleArray(), gradTol, "dBias " + what);
                }
            }
        } finally {
            in.embeddings().close();
            in.classifier().close();
            if (in.bias() != null) in.bias().close();
            LossCase.close(host);
        }
    }


    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void plainMeanWithRaggedVocabularyAndOddDimension(String name) {
        check(new LossCase(1, new long[] {50}, 300, 37, DType.F32, 9, 0, false, false, base()), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void ignoredTokensBiasAndSum(String name) {
        check(new LossCase(2, new long[] {70}, 260, 48, DType.F32, 9, 0.3, true, false, base().withReduction(Reduction.SUM)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void softcapWithPerTokenUpstream(String name) {
        check(new LossCase(3, new long[] {45}, 333, 33, DType.F32, 400, 0.2, false, false,
                base().withSoftcap(5f).withReduction(Reduction.NONE)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void shiftAlongSequencesOfABatch(String name) {
        check(new LossCase(4, new long[] {3, 17}, 129, 20, DType.F32, 9, 0.2, false, false,
                base().withShift(1).withIgnoreIndex(-1)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void labelSmoothingZLossTokenWeightsBiasAndSoftcap(String name) {
        check(new LossCase(5, new long[] {64}, 500, 40, DType.F32, 9, 0.1, true, true,
                base().withLabelSmoothing(0.1f).withZLossWeight(1e-2f).withSoftcap(30f)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void singleRowAndEveryTokenIgnored(String name) {
        check(new LossCase(6, new long[] {1}, 77, 5, DType.F32, 9, 0, true, false, base()), impl(name));
        check(new LossCase(7, new long[] {20}, 50, 16, DType.F32, 9, 1.0, true, false, base()), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void lseOfIgnoredRowsWhenAskedFor(String name) {
        check(new LossCase(8, new long[] {40}, 200, 24, DType.F32, 9, 0.5, false, false, base().withReturnLse(true)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void bf16AndF16InputsOnTensorCores(String name) {
        check(new LossCase(9, new long[] {33}, 140, 64, DType.BF16, 9, 0.1, true, false, base()), impl(name));
        check(new LossCase(10, new long[] {33}, 140, 64, DType.F16, 9, 0.1, false, false, base()), impl(name));
        check(new LossCase(11, new long[] {2, 301}, 1500, 72, DType.BF16, 16, 0.1, true, false,
                base().withShift(1).withSoftcap(15f)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void bf16WithOddDimensionAndEveryOption(String name) {
        check(new LossCase(12, new long[] {77}, 611, 45, DType.BF16, 9, 0.2, true, true,
                base().withLabelSmoothing(0.05f).withZLossWeight(1e-3f).withSoftcap(20f).withReturnLse(true)), impl(name));
        check(new LossCase(13, new long[] {130}, 700, 136, DType.F16, 9, 0.1, true, true,
                base().withLabelSmoothing(0.05f).withZLossWeight(1e-3f).withReduction(Reduction.NONE)), impl(name));
    }

    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked", "cce-exact", "baseline"})
    void largeDimensions(String name) {
        check(new LossCase(14, new long[] {64}, 1200, 4096, DType.BF16, 9, 0.1, false, false, base().withSoftcap(30f)), impl(name));
        check(new LossCase(15, new long[] {37}, 515, 4096, DType.F32, 9, 0.1, true, false, base()), impl(name));
        check(new LossCase(16, new long[] {4, 64}, 1100, 2304, DType.BF16, 9, 0.05, false, false,
                base().withShift(1).withLabelSmoothing(0.1f)), impl(name));
    }

    /**
     * bf16 inputs the tensor-core forward takes: its kernel is queued before the targets are checked,
     * so a target out of range must still give the one clear error (and no forward), and the loss
     * must work normally right after.
     */
    @Test
    void aTargetOutOfRangeIsRefusedAfterTheKernelWasQueued() {
        CudaDevice dev = GpuAvailability.require();
        LinearCrossEntropy cce = impl("cce");
        LossCase good = new LossCase(21, new long[] {70}, 300, 64, DType.BF16, 9, 0, false, false, base());
        CceInputs host = good.inputs();
        long[] bad = good.targets.clone();
        bad[43] = 300;
        try (Tensor ed = dev.upload(host.embeddings()); Tensor cd = dev.upload(host.classifier()); Tensor t = Tensor.of(bad, 70)) {
            org.cce4j.core.InvalidInputException e = org.junit.jupiter.api.Assertions.assertThrows(
                    org.cce4j.core.InvalidInputException.class, () -> cce.forward(CceInputs.of(ed, cd, t), base()));
            assertTrue(e.getMessage().contains("target 300 at position 43"), e.getMessage());
        } finally {
            LossCase.close(host);
        }
        check(good, cce);
    }

    /**
     * The paper's benchmark inputs in small (the first N rows of C equal to E, so each row's own entry
     * dominates): the forward's tile maxima show that only the diagonal tiles can reach filterEps, the
     * backward visits those alone, and the gradients still match the reference to f32 accuracy.
     */
    @Test
    void filteringSkipsTilesAndStaysAccurate() {
        CudaDevice dev = GpuAvailability.require();
        int n = 256, v = 3000, d = 128;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(17);
        double s = 3 / Math.pow(d, 0.25);
        double[][] e = new double[n][d], c = new double[v][d];
        for (double[] row : c) for (int k = 0; k < d; k++) row[k] = (float) (rnd.nextGaussian() * s);
        for (int i = 0; i < n; i++) e[i] = c[i].clone();
        long[] targets = new long[n];
        for (int i = 0; i < n; i++) targets[i] = rnd.nextInt(v);
        CceOptions o = base();
        NaiveCrossEntropy ref = new NaiveCrossEntropy(e, c, null, targets, null, n, o, new double[] {1});
        CudaCutCrossEntropy cce = (CudaCutCrossEntropy) impl("cce-tiles");
        try (Tensor eh = Tensor.of(toFloats(e), n, d); Tensor ch = Tensor.of(toFloats(c), v, d);
             Tensor ed = dev.upload(eh); Tensor cd = dev.upload(ch); Tensor t = Tensor.of(targets, n);
             CceForward f = cce.forward(CceInputs.of(ed, cd, t), o); CceGradients g = cce.backward(f, 1f);
             Tensor dE = dev.download(g.dEmbeddings()); Tensor dC = dev.download(g.dClassifier())) {
            assertClose(ref.loss, f.lossValue(), F32_TOL, "loss");
            assertClose(flat(ref.dE), dE.toDoubleArray(), F32_TOL, "dE");
            assertClose(flat(ref.dC), dC.toDoubleArray(), F32_TOL, "dC");
        }
        assertTrue(!cce.lastDense && cce.lastActiveTiles * 4 <= cce.lastTotalTiles,
                "expected most tiles skipped, visited " + cce.lastActiveTiles + " of " + cce.lastTotalTiles);
    }

    /** Runs the accuracy cases of {@link AccuracyAgainstReferenceTest} on the GPU: correct rows, count and accuracy exactly. */
    @ParameterizedTest @ValueSource(strings = {"cce", "cce-exact", "baseline"})
    void accuracyMatchesTheReferenceOnEveryForwardKernel(String name) {
        CudaDevice dev = GpuAvailability.require();
        LinearCrossEntropy impl = impl(name);
        for (AccuracyCase ac : AccuracyAgainstReferenceTest.cases()) {
            CceInputs host = ac.lc.inputs();
            CceInputs in = new CceInputs(dev.upload(host.embeddings()), dev.upload(host.classifier()), host.targets(),
                    host.bias() == null ? null : dev.upload(host.bias()), host.tokenWeights());
            String what = name + " " + ac.lc.dtype + " n=" + ac.lc.n + " v=" + ac.lc.v + " d=" + ac.lc.d + " " + ac.options();
            try (CceForward f = impl.forward(in, ac.options()); Tensor correct = dev.download(f.correct())) {
                assertTrue(correct.dtype() == DType.I32, what);
                ac.assertMatches(correct.toLongArray(), f.correctCount(), f.accuracy(), what);
                assertClose(ac.ref.loss, f.lossValue(), F32_TOL, "loss with accuracy " + what);
            } finally {
                in.embeddings().close();
                in.classifier().close();
                if (in.bias() != null) in.bias().close();
                LossCase.close(host);
            }
        }
    }

    /**
     * A problem whose filter is visible on the GPU: C ~ N(0, 0.16/√D), E = 3·C[:n], a bias ~ N(0, 0.01),
     * so that each row's own entry is its largest (about 2% of its probability) and the other 3000
     * entries share the rest, each below 4e-3. With eps = 1e-2 the plan keeps the 4 diagonal tiles of
     * 48 (under the dense threshold), and the filtered gradients differ from the exact ones by 2-6%
     * (a float64 simulation of the plan's bound on these inputs said so), far more than rounding.
     */
    private static LossCase filterVisible(DType dtype, CceOptions o) {
        LossCase lc = new LossCase(51, new long[] {256}, 3000, 64, dtype, 1, 0.05, true, false, o);
        double s = 0.4 / Math.pow(64, 0.25);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(52);
        for (double[] row : lc.c) for (int k = 0; k < lc.d; k++) row[k] = roundTo(dtype, rnd.nextGaussian() * s);
        for (int i = 0; i < lc.n; i++) for (int k = 0; k < lc.d; k++) lc.e[i][k] = roundTo(dtype, 3 * lc.c[i][k]);
        for (int j = 0; j < lc.v; j++) lc.bias[j] = (float) (0.1 * rnd.nextGaussian());
        return lc;
    }

    private static double roundTo(DType dtype, double x) {
        float f = (float) x;
        return dtype == DType.BF16 ? org.cce4j.core.tensor.FloatFormats.bf16ToF32(org.cce4j.core.tensor.FloatFormats.f32ToBf16(f)) : f;
    }

    private record Grads(double[] dE, double[] dC, double[] dBias) {}

    private static Grads gradients(LinearCrossEntropy impl, LossCase lc, CceOptions o) {
        CudaDevice dev = GpuAvailability.require();
        CceInputs host = lc.inputs();
        CceInputs in = new CceInputs(dev.upload(host.embeddings()), dev.upload(host.classifier()), host.targets(),
                dev.upload(host.bias()), null);
        try (CceForward f = impl.forward(in, o); Tensor up = lc.upstreamTensor(); CceGradients g = impl.backward(f, up, null);
             Tensor dE = dev.download(g.dEmbeddings()); Tensor dC = dev.download(g.dClassifier()); Tensor dB = dev.download(g.dBias())) {
            return new Grads(dE.toDoubleArray(), dC.toDoubleArray(), dB.toDoubleArray());
        } finally {
            in.embeddings().close();
            in.classifier().close();
            in.bias().close();
            LossCase.close(host);
        }
    }

    /**
     * filterCGrad = false (and, the other way round, filterEGrad = false) on each backward path: the
     * unfiltered side equals cce-exact's to f32 rounding (1e-5: atomics add in any order) and the
     * float64 reference, the filtered side equals what cce computes with both filters on.
     */
    @ParameterizedTest @ValueSource(strings = {"cce", "cce-tiles", "cce-dense-chunked"})
    void eachGradientsFilterSwitchesAlone(String name) {
        double rounding = 1e-5;
        CceOptions o = base().withFilterEps(1e-2f).withReduction(Reduction.SUM);
        LossCase lc = filterVisible(DType.F32, o);
        NaiveCrossEntropy ref = lc.reference();
        LinearCrossEntropy impl = impl(name);
        Grads exact = gradients(impl("cce-exact"), lc, o);
        Grads filtered = gradients(impl, lc, o);
        Grads fullC = gradients(impl, lc, o.withFilterCGrad(false));
        Grads fullE = gradients(impl, lc, o.withFilterEGrad(false));
        if (!name.equals("cce-dense-chunked")) { // the dense path skips nothing: there filtered = exact
            assertTrue(org.cce4j.core.testing.RelativeError.of(exact.dE(), filtered.dE()) > 100 * rounding, "dE filtering shows " + name);
            assertTrue(org.cce4j.core.testing.RelativeError.of(exact.dC(), filtered.dC()) > 100 * rounding, "dC filtering shows " + name);
        }
        assertClose(exact.dC(), fullC.dC(), rounding, "dC without its filter vs cce-exact " + name);
        assertClose(exact.dBias(), fullC.dBias(), rounding, "dBias without the classifier's filter vs cce-exact " + name);
        assertClose(filtered.dE(), fullC.dE(), rounding, "dE keeps its filter " + name);
        assertClose(flat(ref.dC), fullC.dC(), F32_TOL, "dC without its filter vs float64 " + name);
        assertClose(exact.dE(), fullE.dE(), rounding, "dE without its filter vs cce-exact " + name);
        assertClose(filtered.dC(), fullE.dC(), rounding, "dC keeps its filter " + name);
        assertClose(filtered.dBias(), fullE.dBias(), rounding, "dBias keeps the classifier's filter " + name);
        assertClose(flat(ref.dE), fullE.dE(), F32_TOL, "dE without its filter vs float64 " + name);
    }

    /** The same on bf16 inputs with the automatic path (tensor-core tiles for the filtered side, the dense path for the full one). */
    @Test
    void fullClassifierGradientOnBf16() {
        CceOptions o = base().withFilterEps(1e-2f).withReduction(Reduction.SUM).withFilterCGrad(false);
        LossCase lc = filterVisible(DType.BF16, o);
        Grads exact = gradients(impl("cce-exact"), lc, o);
        Grads filtered = gradients(impl("cce"), lc, o.withFilterCGrad(true));
        Grads fullC = gradients(impl("cce"), lc, o);
        assertClose(exact.dC(), fullC.dC(), 1e-5, "dC without its filter vs cce-exact (both dense)");
        assertClose(filtered.dE(), fullC.dE(), 1e-5, "dE keeps its filter");
        assertClose(flat(lc.reference().dC), fullC.dC(), NARROW_GRAD_TOL, "dC without its filter vs float64");
    }

    private static float[] toFloats(double[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int k = 0; k < m[0].length; k++) out[i * m[0].length + k] = (float) m[i][k];
        return out;
    }
}
