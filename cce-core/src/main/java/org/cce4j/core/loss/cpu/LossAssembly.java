package org.cce4j.core.loss.cpu;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * The O(N) and O(V) ends of the CPU loss, shared by {@link CpuCutCrossEntropy} and
 * {@link CpuBaselineCrossEntropy}: per-row statistics into token losses and the reduced loss, and
 * the gradient tensors a backward writes into.
 */
final class LossAssembly {
    private LossAssembly() {}

    /**
     * @param lse          per row, NaN where not computed
     * @param targetLogit  per row: softcapped logit of the target (rows that count)
     * @param logitSum     per row: Σ_j z_j (only read with label smoothing)
     * @param argmax       per row: the first index of its largest logit (rows that count), or null without accuracy
     */
    static CceForward forwardResult(CceInputs inputs, CceOptions o, CceProblem pb, float[] lse, float[] targetLogit,
                                    double[] logitSum, int[] argmax, Object saved) {
        float alpha = o.labelSmoothing();
        float lambda = o.zLossWeight();
        float[] token = new float[pb.rows];
        double total = 0;
        for (int r : pb.countingRows) {
            double l = lse[r];
            double v = l - (1 - alpha) * (double) targetLogit[r] + lambda * l * l;
            if (alpha != 0) v -= alpha * logitSum[r] / pb.vocab;
            v *= pb.weightOfRow[r];
            token[r] = (float) v;
            total += v;
        }
        float lossValue = (float) (o.reduction() == Reduction.MEAN ? (pb.weightSum == 0 ? 0 : total / pb.weightSum) : total);
        Tensor tokenLoss = Tensor.of(token, pb.leadingShape);
        Tensor lseTensor = Tensor.of(lse, pb.leadingShape);
        Tensor loss = o.reduction() == Reduction.NONE ? tokenLoss : Tensor.scalar(lossValue);
        if (argmax == null) return new CceForward(inputs, o, pb, loss, tokenLoss, lseTensor, lossValue, saved);
        int[] correct = new int[pb.rows];
        long count = 0;
        for (int r : pb.countingRows) {
            if (argmax[r] == pb.targetOfRow[r]) {
                correct[r] = 1;
                count++;
            }
        }
        return new CceForward(inputs, o, pb, loss, tokenLoss, lseTensor, lossValue, Tensor.of(correct, pb.leadingShape),
                count, saved);
    }

    /** Fresh gradients (dBias only with a bias), or the caller's, checked. */
    static CceGradients gradientTargets(CceInputs in, CceProblem pb, CceGradients into) {
        if (into == null) {
            long[] eShape = in.embeddings().shape();
            return new CceGradients(Tensor.zeros(DType.F32, eShape), Tensor.zeros(DType.F32, pb.vocab, pb.dim),
                    in.bias() != null ? Tensor.zeros(DType.F32, pb.vocab) : null);
        }
        check(into.dEmbeddings(), in.embeddings().shape(), "dEmbeddings");
        check(into.dClassifier(), new long[] {pb.vocab, pb.dim}, "dClassifier");
        check(into.dBias(), new long[] {pb.vocab}, "dBias");
        if (into.dBias() != null && in.bias() == null) throw new InvalidInputException("dBias given but the loss has no bias");
        return into;
    }

    private static void check(Tensor t, long[] shape, String name) {
        if (t == null) return;
        if (t.dtype() != DType.F32 || !t.device().isCpu() || !Arrays.equals(t.shape(), shape)) {
            throw new InvalidInputException(name + " must be an f32 host tensor of shape " + Arrays.toString(shape) + ", got " + t);
        }
    }

    /** Per row: upstream scale × token weight, 0 for rows that do not count. */
    static float[] rowScales(CceProblem pb, CceOptions o, Tensor upstream) {
        float[] s = pb.upstreamScale(o.reduction(), upstream);
        for (int r = 0; r < pb.rows; r++) {
            s[r] = pb.targetOfRow[r] >= 0 ? s[r] * pb.weightOfRow[r] : 0f;
        }
        return s;
    }

    static void addInto(float[] values, Tensor dst) {
        for (int v = 0; v < values.length; v++) {
            if (values[v] != 0) dst.setFloat(v, dst.getFloat(v) + values[v]);
        }
    }

    static float[] nanArray(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }
}
