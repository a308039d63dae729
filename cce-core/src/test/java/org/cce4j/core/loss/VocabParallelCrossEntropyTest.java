package org.cce4j.core.loss;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.dist.HostGroup;
import org.cce4j.core.dist.RankThreads;
import org.cce4j.core.dist.VocabParallelCrossEntropy;
import org.cce4j.core.dist.VocabParallelOps;
import org.cce4j.core.dist.VocabShard;
import org.cce4j.core.loss.cpu.CpuBaselineCrossEntropy;
import org.cce4j.core.loss.cpu.CpuCutCrossEntropy;
import org.cce4j.core.loss.cuda.CudaVocabParallelOps;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vocabulary-parallel loss (org.cce4j.core.dist) at 1, 2 and 3 ranks of an in-process group,
 * balanced and uneven shards, against the float64 reference of the whole vocabulary and against the
 * single-rank loss. Lives beside {@link LossCase}, whose random problems and reference it reuses.
 * <p>
 * Tolerance 1e-5 relative (‖·‖₂): the single-rank f32 loss is within ~1e-6 of float64 on these sizes;
 * the parallel one adds an LSE merge in f64 of f32 partial LSEs (≤ 1 ulp each), a rank-one correction
 * in f64, and a sum of f32 partial dE over ≤ 3 ranks, each a few ulps, so 1e-5 holds with margin while
 * a wrong term (a missing one-hot, a local instead of global LSE) is off by far more than 1e-3.
 */
class VocabParallelCrossEntropyTest {
    private static final double TOL = 1e-5;

    record RankResult(float loss, float[] tokenLoss, float[] lse, float[] dE, float[] dC, float[] dBias) {}

    private static VocabShard[] balanced(int vocab, int size) {
        VocabShard[] s = new VocabShard[size];
        for (int r = 0; r < size; r++) s[r] = VocabShard.balanced(vocab, r, size);
        return s;
    }

    /** Runs forward and backward on every rank of a group, each holding its shard of C and of the bias. */
    static List<RankResult> runParallel(LossCase k, LinearCrossEntropy inner, VocabShard[] shards, float gradientStart) {
        CceInputs full = k.inputs();
        try {
            HostGroup group = HostGroup.create(shards.length, Duration.ofSeconds(60));
            return RankThreads.values(RankThreads.run(shards.length, 120, rank -> {
                VocabShard s = shards[rank];
                CceInputs in = new CceInputs(full.embeddings(), full.classifier().slice(s.start(), s.stop()), full.targets(),
                        full.bias() == null ? null : full.bias().slice(s.start(), s.stop()), full.tokenWeights());
                VocabParallelCrossEntropy loss = new VocabParallelCrossEntropy(group.rank(rank), inner, s);
                CceGradients into = gradientStart == 0 ? null : new CceGradients(filled(full.embeddings().shape(), gradientStart),
                        filled(new long[] {s.rows(), k.d}, gradientStart), full.bias() == null ? null : filled(new long[] {s.rows()}, gradientStart));
                try (CceForward f = loss.forward(in, k.options); Tensor up = k.upstreamTensor(); CceGradients g = loss.backward(f, up, into)) {
                    return new RankResult(f.lossValue(), f.tokenLoss().toFloatArray(), f.lse().toFloatArray(), g.dEmbeddings().toFloatArray(),
                            g.dClassifier().toFloatArray(), g.dBias() == null ? null : g.dBias().toFloatArray());
                }
            }));
        } finally {
            LossCase.close(full);
        }
    }

    static Tensor filled(long[] shape, float v) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, v);
        return t;
    }

    /** Every rank's loss, token losses, lse and dE are the same to the bit (they all see every row); returns rank 0's. */
    static RankResult ranksAgree(List<RankResult> results, String what) {
        RankResult r0 = results.getFirst();
        for (RankResult r : results) {
            assertEquals(r0.loss(), r.loss(), "every rank's loss, " + what);
            assertArrayEquals(r0.tokenLoss(), r.tokenLoss(), "every rank's token losses, " + what);
            assertArrayEquals(r0.lse(), r.lse(), "every rank's lse, " + what);
            assertArrayEquals(r0.dE(), r.dE(), "every rank's dE, " + what);
        }
        return r0;
    }

    /** Every rank agrees bit for bit; together they are the whole-vocabulary reference (plus {@code gradientStart} for accumulation). */
    private static void check(LossCase k, LinearCrossEntropy inner, VocabShard[] shards, float gradientStart) {
        List<RankResult> results = runParallel(k, inner, shards, gradientStart);
        String what = shards.length + " ranks " + java.util.Arrays.toString(shards) + " " + k.options;
        RankResult r0 = ranksAgree(results, what);
        NaiveCrossEntropy ref = k.reference();
        LossCase.assertClose(ref.loss, r0.loss(), TOL, "loss " + what);
        LossCase.assertClose(ref.tokenLoss, doubles(r0.tokenLoss()), TOL, "token losses " + what);
        double[] lse = doubles(r0.lse());
        double[] refLse = ref.lse.clone();
        for (int i = 0; i < lse.length; i++) {
            if (Double.isNaN(lse[i])) {
                assertTrue(!k.options.returnLse() && ref.targetOfRow[i] < 0, "lse NaN at row " + i);
                lse[i] = refLse[i] = 0;
            }
        }
        LossCase.assertClose(refLse, lse, TOL, "lse " + what);
        LossCase.assertClose(plus(LossCase.flat(ref.dE), gradientStart), doubles(r0.dE()), TOL, "dE " + what);
        double[] dC = new double[k.v * k.d];
        double[] dBias = new double[k.v];
        for (int q = 0; q < shards.length; q++) {
            float[] part = results.get(q).dC();
            for (int i = 0; i < part.length; i++) dC[shards[q].start() * k.d + i] = part[i];
            if (k.bias != null) {
                float[] b = results.get(q).dBias();
                for (int i = 0; i < b.length; i++) dBias[shards[q].start() + i] = b[i];
            }
        }
        LossCase.assertClose(plus(LossCase.flat(ref.dC), gradientStart), dC, TOL, "dC " + what);
        if (k.bias != null) LossCase.assertClose(plus(ref.dBias, gradientStart), dBias, TOL, "dBias " + what);

        // and the same inner loss on one rank holding the whole vocabulary
        CceInputs full = k.inputs();
        try (CceForward f = inner.forward(full, k.options); Tensor up = k.upstreamTensor(); CceGradients g = inner.backward(f, up, null)) {
            LossCase.assertClose(f.lossValue(), r0.loss(), TOL, "loss against one rank, " + what);
            LossCase.assertClose(f.tokenLoss().toDoubleArray(), doubles(r0.tokenLoss()), TOL, "token losses against one rank, " + what);
            LossCase.assertClose(plus(g.dEmbeddings().toDoubleArray(), gradientStart), doubles(r0.dE()), TOL, "dE against one rank, " + what);
            LossCase.assertClose(plus(g.dClassifier().toDoubleArray(), gradientStart), dC, TOL, "dC against one rank, " + what);
            if (k.bias != null) LossCase.assertClose(plus(g.dBias().toDoubleArray(), gradientStart), dBias, TOL, "dBias against one rank, " + what);
        } finally {
            LossCase.close(full);
        }
    }

    static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static double[] plus(double[] x, double v) {
        double[] y = x.clone();
        for (int i = 0; i < y.length; i++) y[i] += v;
        return y;
    }

    private static LinearCrossEntropy cce() {
        return new CpuCutCrossEntropy(false);
    }

    @Test
    void plainMeanAtOneTwoAndThreeRanksAndUnevenShards() {
        LossCase k = new LossCase(11, new long[] {50}, 300, 37, DType.F32, 9, 0, false, false, CceOptions.defaults());
        for (int size = 1; size <= 3; size++) check(k, cce(), balanced(300, size), 0);
        check(k, cce(), new VocabShard[] {new VocabShard(0, 7, 300), new VocabShard(7, 200, 300), new VocabShard(200, 300, 300)}, 0);
    }

    @Test
    void softcapIgnoredTargetsBiasAndSum() {
        LossCase k = new LossCase(12, new long[] {70}, 260, 48, DType.F32, 400, 0.3, true, false,
                CceOptions.defaults().withSoftcap(20f).withReduction(Reduction.SUM));
        check(k, cce(), balanced(260, 2), 0);
        check(k, cce(), balanced(260, 3), 0);
    }

    @Test
    void perTokenUpstreamWeightsShiftZLossAndEveryLse() {
        LossCase k = new LossCase(13, new long[] {3, 17}, 129, 20, DType.F32, 9, 0.2, true, true,
                CceOptions.defaults().withReduction(Reduction.NONE).withShift(1).withIgnoreIndex(-1).withZLossWeight(1e-2f).withReturnLse(true));
        check(k, cce(), balanced(129, 3), 0);
    }

    @Test
    void weightedMeanDividesByTheWholeBatchsWeight() {
        LossCase k = new LossCase(14, new long[] {64}, 211, 24, DType.F32, 9, 0.25, false, true, CceOptions.defaults());
        check(k, cce(), balanced(211, 3), 0);
    }

    @Test
    void bf16InputsWithTheExactInnerLossAndTheBaseline() {
        LossCase k = new LossCase(15, new long[] {40}, 190, 32, DType.BF16, 9, 0.1, true, false, CceOptions.defaults().withSoftcap(10f));
        check(k, new CpuCutCrossEntropy(true), balanced(190, 2), 0);
        check(k, new CpuBaselineCrossEntropy(), balanced(190, 3), 0);
    }

    @Test
    void gradientsAccumulateIntoTheCallersTensors() {
        LossCase k = new LossCase(16, new long[] {30}, 100, 16, DType.F32, 9, 0.1, true, false, CceOptions.defaults());
        check(k, cce(), balanced(100, 2), 0.25f);
    }

    @Test
    void aBatchWithNothingToPredictHasLossAndGradientsZero() {
        LossCase k = new LossCase(17, new long[] {12}, 50, 8, DType.F32, 9, 1.0, false, false, CceOptions.defaults());
        check(k, cce(), balanced(50, 2), 0);
    }

    @Test
    void labelSmoothingAndAccuracyAreRefusedByName() {
        LossCase k = new LossCase(18, new long[] {4}, 10, 4, DType.F32, 9, 0, false, false, CceOptions.defaults());
        CceInputs in = k.inputs();
        try {
            VocabParallelCrossEntropy loss = new VocabParallelCrossEntropy(HostGroup.create(1).rank(0), cce(), VocabShard.balanced(10, 0, 1));
            InvalidInputException smoothing = org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class,
                    () -> loss.forward(in, CceOptions.defaults().withLabelSmoothing(0.1f)));
            assertEquals("the vocabulary-parallel loss does not support label smoothing", smoothing.getMessage());
            InvalidInputException accuracy = org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class,
                    () -> loss.forward(in, CceOptions.defaults().withAccuracy(true)));
            assertEquals("the vocabulary-parallel loss does not support accuracy", accuracy.getMessage());
        } finally {
            LossCase.close(in);
        }
    }

    @Test
    void shardsThatDoNotTileTheVocabularyAreRefusedOnEveryRank() {
        LossCase k = new LossCase(19, new long[] {8}, 40, 4, DType.F32, 9, 0, false, false, CceOptions.defaults());
        VocabShard[] gap = {new VocabShard(0, 15, 40), new VocabShard(20, 40, 40)};
        CceInputs full = k.inputs();
        try {
            HostGroup group = HostGroup.create(2, Duration.ofSeconds(60));
            var outcomes = RankThreads.run(2, 60, rank -> {
                VocabShard s = gap[rank];
                CceInputs in = new CceInputs(full.embeddings(), full.classifier().slice(s.start(), s.stop()), full.targets(), null, null);
                try (CceForward f = new VocabParallelCrossEntropy(group.rank(rank), cce(), s).forward(in, k.options)) {
                    return f.lossValue();
                }
            });
            for (var o : outcomes) {
                InvalidInputException e = assertInstanceOf(InvalidInputException.class, o.error());
                assertEquals("the vocabulary shards of the ranks do not tile [0, 40) in rank order: [0, 15, 40, 20, 40, 40] as (start, stop, vocab) per rank",
                        e.getMessage());
            }
        } finally {
            LossCase.close(full);
        }
    }

    @Test
    void theRowOperationsAreFoundByTheDeviceOfTheEmbeddings() {
        // no GPU is needed to find them: the service file must name the CUDA ones, and the host's serve the CPU
        assertInstanceOf(CudaVocabParallelOps.class, VocabParallelOps.forDevice(new Device.Cuda(0)));
        VocabParallelOps host = VocabParallelOps.forDevice(Device.CPU);
        assertTrue(host.supports(Device.CPU));
        assertTrue(!host.supports(new Device.Cuda(0)));
    }

    @Test
    void aTensorOnAnotherDeviceThanTheEmbeddingsIsRefusedByName() {
        LossCase k = new LossCase(20, new long[] {4}, 10, 4, DType.F32, 9, 0, false, false, CceOptions.defaults());
        CceInputs in = k.inputs();
        try {
            Tensor elsewhere = Tensor.wrap(java.lang.foreign.MemorySegment.ofAddress(4096), DType.I64, new long[] {4}, new Device.Cuda(0), null);
            VocabParallelCrossEntropy loss = new VocabParallelCrossEntropy(HostGroup.create(1).rank(0), cce(), VocabShard.balanced(10, 0, 1));
            InvalidInputException e = org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class,
                    () -> loss.forward(new CceInputs(in.embeddings(), in.classifier(), elsewhere, null, null), CceOptions.defaults()));
            assertEquals("the vocabulary-parallel loss runs on cpu here, but got Tensor(i64[4] on cuda:0)", e.getMessage());
        } finally {
            LossCase.close(in);
        }
    }

    @Test
    void balancedShardsDifferByAtMostOneRow() {
        assertEquals(new VocabShard(0, 4, 10), VocabShard.balanced(10, 0, 3));
        assertEquals(new VocabShard(4, 7, 10), VocabShard.balanced(10, 1, 3));
        assertEquals(new VocabShard(7, 10, 10), VocabShard.balanced(10, 2, 3));
        assertEquals(new VocabShard(0, 1, 2), VocabShard.balanced(2, 0, 2));
    }
}
