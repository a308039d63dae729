package org.cce4j.core.loss;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaException;
import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.cuda.Nccl;
import org.cce4j.core.device.NcclCommunicator;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.dist.HostGroup;
import org.cce4j.core.dist.RankThreads;
import org.cce4j.core.dist.VocabParallelCrossEntropy;
import org.cce4j.core.dist.VocabShard;
import org.cce4j.core.loss.VocabParallelCrossEntropyTest.RankResult;
import org.cce4j.core.loss.cpu.CpuCutCrossEntropy;
import org.cce4j.core.loss.cuda.CudaCutCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

import static org.cce4j.core.loss.VocabParallelCrossEntropyTest.doubles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The vocabulary-parallel loss with E, C, the bias, the targets and the upstream on the GPU (its rows through
 * core.loss.cuda.CudaVocabParallelOps, the inner loss CudaCutCrossEntropy), at 1 rank over NCCL and at 1, 2 and 3
 * ranks sharing cuda:0 through {@link DeviceStagedCommunicator} (a HostGroup behind downloads and uploads):
 * against the float64 reference of the whole vocabulary, the single-rank CUDA loss, and the CPU
 * vocabulary-parallel loss on the same shards. Tolerances as CudaLossAgainstReferenceTest's: 1e-4 relative
 * (‖·‖₂) for f32 inputs and every forward output, 2e-2 for the gradients of bf16 inputs (the filter drops
 * entries below 2⁻¹², and each shard filters against its own lse); a wrong term (a local LSE, a missing
 * one-hot) is off by more than 1e-1. Skipped where no CUDA device is usable.
 */
@Tag("gpu")
class CudaVocabParallelCrossEntropyTest {
    private static final double F32_TOL = 1e-4, NARROW_GRAD_TOL = 2e-2;

    private static VocabShard[] balanced(int vocab, int size) {
        VocabShard[] s = new VocabShard[size];
        for (int r = 0; r < size; r++) s[r] = VocabShard.balanced(vocab, r, size);
        return s;
    }

    /** Ranks sharing cuda:0, their collectives through a HostGroup. */
    private static IntFunction<Communicator> staged(int size) {
        CudaDevice dev = GpuAvailability.require();
        HostGroup group = HostGroup.create(size, Duration.ofSeconds(120));
        return rank -> new DeviceStagedCommunicator(group.rank(rank), dev);
    }

    private static Tensor up(CudaDevice dev, Tensor host) {
        return host == null ? null : dev.upload(host);
    }

    private static float[] down(CudaDevice dev, Tensor t) {
        if (t == null) return null;
        try (Tensor h = dev.download(t)) {
            return h.toFloatArray();
        }
    }

    /** Every rank on cuda:0 with its shard of C and of the bias uploaded; E, the targets and the upstream uploaded once. */
    private static List<RankResult> runOnGpu(LossCase k, VocabShard[] shards, IntFunction<Communicator> comms, float gradientStart) {
        CudaDevice dev = GpuAvailability.require();
        CceInputs full = k.inputs();
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor e = up(dev, full.embeddings()), t = up(dev, full.targets());
            owned.add(e);
            owned.add(t);
            return RankThreads.values(RankThreads.run(shards.length, 300, rank -> {
                VocabShard s = shards[rank];
                List<Tensor> mine = new ArrayList<>();
                // a HostGroup rank is not closed (the others may still read its sums); an NCCL one is, at the end
                Communicator comm = comms.apply(rank);
                try {
                    Tensor c = dev.upload(full.classifier().slice(s.start(), s.stop()));
                    mine.add(c);
                    Tensor b = full.bias() == null ? null : dev.upload(full.bias().slice(s.start(), s.stop()));
                    if (b != null) mine.add(b);
                    CceInputs in = new CceInputs(e, c, t, b, full.tokenWeights());
                    VocabParallelCrossEntropy loss = new VocabParallelCrossEntropy(comm, new CudaCutCrossEntropy(false, new Device.Cuda(0)), s);
                    CceGradients into = null;
                    if (gradientStart != 0) {
                        try (Tensor de = VocabParallelCrossEntropyTest.filled(full.embeddings().shape(), gradientStart);
                             Tensor dc = VocabParallelCrossEntropyTest.filled(new long[] {s.rows(), k.d}, gradientStart);
                             Tensor db = full.bias() == null ? null : VocabParallelCrossEntropyTest.filled(new long[] {s.rows()}, gradientStart)) {
                            into = new CceGradients(dev.upload(de), dev.upload(dc), db == null ? null : dev.upload(db));
                        }
                    }
                    try (Tensor upHost = k.upstreamTensor(); Tensor upstream = dev.upload(upHost); CceForward f = loss.forward(in, k.options);
                         CceGradients g = loss.backward(f, upstream, into)) {
                        return new RankResult(f.lossValue(), down(dev, f.tokenLoss()), down(dev, f.lse()), down(dev, g.dEmbeddings()),
                                down(dev, g.dClassifier()), down(dev, g.dBias()));
                    }
                } finally {
                    for (Tensor x : mine) x.close();
                    if (comm instanceof NcclCommunicator) comm.close();
                }
            }));
        } finally {
            for (Tensor x : owned) x.close();
            LossCase.close(full);
        }
    }

    /** The shards' dC (or dBias with {@code bias}) put together into the whole vocabulary's. */
    private static double[] joined(List<RankResult> results, VocabShard[] shards, int width, boolean bias) {
        double[] all = new double[shards[0].vocab() * width];
        for (int q = 0; q < shards.length; q++) {
            float[] part = bias ? results.get(q).dBias() : results.get(q).dC();
            for (int i = 0; i < part.length; i++) all[shards[q].start() * width + i] = part[i];
        }
        return all;
    }

    private static double[] plus(double[] x, double v) {
        double[] y = x.clone();
        for (int i = 0; i < y.length; i++) y[i] += v;
        return y;
    }

    /** An lse may be NaN (on either side) only at a row that does not count without returnLse; such rows are then compared as 0. */
    private static double[] lseWithoutNaN(double[] lse, double[] other, LossCase k, int[] refTargets, String what) {
        double[] out = lse.clone();
        for (int i = 0; i < out.length; i++) {
            if (Double.isNaN(out[i]) || Double.isNaN(other[i])) {
                assertTrue(!k.options.returnLse() && refTargets[i] < 0, "lse NaN at row " + i + ", " + what);
                out[i] = 0;
            }
        }
        return out;
    }

    private static void assertSame(String what, LossCase k, int[] refTargets, RankResult want, RankResult got, double gradTol, double[] dCBase, double[] dBiasBase,
                                   double[] dC, double[] dBias, float gradientStart) {
        LossCase.assertClose(want.loss(), got.loss(), F32_TOL, "loss " + what);
        LossCase.assertClose(doubles(want.tokenLoss()), doubles(got.tokenLoss()), F32_TOL, "token losses " + what);
        double[] a = doubles(want.lse()), b = doubles(got.lse());
        LossCase.assertClose(lseWithoutNaN(a, b, k, refTargets, what), lseWithoutNaN(b, a, k, refTargets, what), F32_TOL, "lse " + what);
        LossCase.assertClose(plus(doubles(want.dE()), gradientStart), doubles(got.dE()), gradTol, "dE " + what);
        LossCase.assertClose(plus(dCBase, gradientStart), dC, gradTol, "dC " + what);
        if (dBiasBase != null) LossCase.assertClose(plus(dBiasBase, gradientStart), dBias, gradTol, "dBias " + what);
    }

    private static void check(LossCase k, VocabShard[] shards, IntFunction<Communicator> comms, float gradientStart) {
        CudaDevice dev = GpuAvailability.require();
        List<RankResult> results = runOnGpu(k, shards, comms, gradientStart);
        String what = "cuda, " + shards.length + " ranks " + java.util.Arrays.toString(shards) + " " + k.dtype + " " + k.options;
        RankResult r0 = VocabParallelCrossEntropyTest.ranksAgree(results, what);
        double gradTol = k.dtype == DType.F32 ? F32_TOL : NARROW_GRAD_TOL;
        double[] dC = joined(results, shards, k.d, false), dBias = k.bias == null ? null : joined(results, shards, 1, true);

        // the float64 reference of the whole vocabulary
        NaiveCrossEntropy ref = k.reference();
        RankResult refResult = new RankResult((float) ref.loss, floats(ref.tokenLoss), lseOfReference(ref, k), floats(LossCase.flat(ref.dE)), null, null);
        assertSame("against float64, " + what, k, ref.targetOfRow, refResult, r0, gradTol, LossCase.flat(ref.dC),
                k.bias == null ? null : ref.dBias, dC, dBias, gradientStart);

        // the single-rank CUDA loss over the whole vocabulary
        CceInputs host = k.inputs();
        CceInputs in = new CceInputs(dev.upload(host.embeddings()), dev.upload(host.classifier()), host.targets(),
                up(dev, host.bias()), host.tokenWeights());
        LinearCrossEntropy one = new CudaCutCrossEntropy(false, new Device.Cuda(0));
        try (CceForward f = one.forward(in, k.options); Tensor upstream = k.upstreamTensor(); CceGradients g = one.backward(f, upstream, null)) {
            RankResult single = new RankResult(f.lossValue(), down(dev, f.tokenLoss()), down(dev, f.lse()), down(dev, g.dEmbeddings()), null, null);
            float[] bias = down(dev, g.dBias());
            assertSame("against one CUDA rank, " + what, k, ref.targetOfRow, single, r0, gradTol, doubles(down(dev, g.dClassifier())),
                    bias == null ? null : doubles(bias), dC, dBias, gradientStart);
        } finally {
            in.embeddings().close();
            in.classifier().close();
            if (in.bias() != null) in.bias().close();
            LossCase.close(host);
        }

        // the CPU vocabulary-parallel loss on the same shards (itself within 1e-5 of float64)
        List<RankResult> cpu = VocabParallelCrossEntropyTest.runParallel(k, new CpuCutCrossEntropy(false), shards, gradientStart);
        RankResult c0 = cpu.getFirst();
        RankResult cpuBase = new RankResult(c0.loss(), c0.tokenLoss(), c0.lse(), minus(c0.dE(), gradientStart), null, null);
        assertSame("against the CPU's vocabulary-parallel loss, " + what, k, ref.targetOfRow, cpuBase, r0, gradTol,
                plus(joined(cpu, shards, k.d, false), -gradientStart), k.bias == null ? null : plus(joined(cpu, shards, 1, true), -gradientStart),
                dC, dBias, gradientStart);
    }

    private static float[] lseOfReference(NaiveCrossEntropy ref, LossCase k) {
        float[] l = floats(ref.lse);
        if (!k.options.returnLse()) for (int i = 0; i < l.length; i++) if (ref.targetOfRow[i] < 0) l[i] = Float.NaN;
        return l;
    }

    private static float[] minus(float[] x, float v) {
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) y[i] -= v;
        return y;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Test
    void f32PlainMeanAtOneTwoAndThreeRanksAndUnevenShards() {
        LossCase k = new LossCase(21, new long[] {50}, 300, 37, DType.F32, 9, 0, false, false, CceOptions.defaults());
        for (int size = 1; size <= 3; size++) check(k, balanced(300, size), staged(size), 0);
        check(k, new VocabShard[] {new VocabShard(0, 7, 300), new VocabShard(7, 200, 300), new VocabShard(200, 300, 300)}, staged(3), 0);
    }

    @Test
    void bf16OnTensorCoresWithSoftcapBiasIgnoredTargetsAndSum() {
        LossCase k = new LossCase(22, new long[] {70}, 520, 64, DType.BF16, 9, 0.3, true, false,
                CceOptions.defaults().withSoftcap(20f).withReduction(Reduction.SUM));
        check(k, balanced(520, 2), staged(2), 0);
        check(k, balanced(520, 3), staged(3), 0);
    }

    @Test
    void perTokenUpstreamWeightsShiftZLossAndEveryLse() {
        LossCase k = new LossCase(23, new long[] {3, 17}, 129, 20, DType.F32, 9, 0.2, true, true,
                CceOptions.defaults().withReduction(Reduction.NONE).withShift(1).withIgnoreIndex(-1).withZLossWeight(1e-2f).withReturnLse(true));
        check(k, balanced(129, 3), staged(3), 0);
    }

    @Test
    void gradientsAccumulateIntoTheCallersDeviceTensors() {
        LossCase k = new LossCase(24, new long[] {40}, 300, 64, DType.BF16, 9, 0.1, true, false, CceOptions.defaults());
        check(k, balanced(300, 2), staged(2), 0.25f);
    }

    @Test
    void aBatchWithNothingToPredictHasLossAndGradientsZero() {
        LossCase k = new LossCase(25, new long[] {12}, 50, 8, DType.F32, 9, 1.0, false, false, CceOptions.defaults());
        check(k, balanced(50, 2), staged(2), 0);
    }

    @Test
    void oneRankOverNccl() {
        CudaDevice dev = GpuAvailability.require();
        try {
            Nccl.get();
        } catch (CudaException | LinkageError e) {
            assumeTrue(false, "no NCCL: " + e.getMessage());
        }
        LossCase k = new LossCase(26, new long[] {64}, 400, 64, DType.BF16, 9, 0.1, true, true, CceOptions.defaults().withSoftcap(30f));
        byte[] id = NcclCommunicator.newUniqueId();
        check(k, balanced(400, 1), rank -> NcclCommunicator.create(dev, 0, 1, id, Duration.ofSeconds(60)), 0);
    }
}
