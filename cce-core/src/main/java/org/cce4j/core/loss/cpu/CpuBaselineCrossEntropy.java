package org.cce4j.core.loss.cpu;

import org.cce4j.core.cpu.Blocks;
import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuKernels;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The materialized baseline, as PyTorch computes {@code cross_entropy(E @ C.T)}: the forward
 * stores every logit (vocabulary-major blocks of 128 × N, N×V floats in all) and the backward turns
 * them into the gradient in place, then multiplies it with C and E. It shares the micro-kernel with
 * {@link CpuCutCrossEntropy}, so comparisons measure the algorithm, not the kernels. Every row's
 * lse is computed, whatever {@code returnLse} says. With accuracy, one more max pass over the stored
 * logits finds, per row, the first block that holds its maximum, and that block is searched.
 */
public final class CpuBaselineCrossEntropy implements LinearCrossEntropy {
    private static final int VOCAB_BLOCK = 128;
    private static final int ROW_CHUNK = 256;
    private final CpuKernels k;

    public CpuBaselineCrossEntropy() {
        this(CpuKernelSelector.best());
    }

    public CpuBaselineCrossEntropy(CpuKernels kernels) {
        this.k = kernels;
    }

    /** The logits [block][j × nPad + i], E rows [nPad × dimPad], and what the forward learned. */
    private record Saved(F32Operands ops, float[][] logits, float[] eRows, int nPad, int dimPad,
                         float[] lse, float[] targetLogit) implements AutoCloseable {
        @Override
        public void close() {
            ops.close();
        }
    }

    @Override
    public CceForward forward(CceInputs inputs, CceOptions o) {
        CceProblem pb = CceProblem.of(inputs, o);
        F32Operands ops = F32Operands.of(inputs);
        int nr = k.nr();
        int n = pb.rows;
        int nPad = Blocks.roundUp(n, nr);
        int dimPad = Blocks.roundUp(pb.dim, nr);
        int[] allRows = new int[n];
        Arrays.setAll(allRows, i -> i);
        float[] eRows = new float[nPad * dimPad];
        float[] eT = new float[nPad * dimPad];
        LogitTiles.loadRowGroup(ops.e(), pb.dim, dimPad, nr, allRows, 0, n, nPad, eRows, eT);

        int blocks = Blocks.ceilDiv(pb.vocab, VOCAB_BLOCK);
        float[][] logits = new float[blocks][];
        CpuParallel.forEach(blocks, b -> {
            int p0 = b * VOCAB_BLOCK;
            int vbw = Math.min(VOCAB_BLOCK, pb.vocab - p0);
            int vbPad = Blocks.roundUp(vbw, CpuKernels.MR);
            TileScratch s = TileScratch.get();
            s.reserve(nr, dimPad, vbPad, false);
            LogitTiles.loadVocabBlock(ops.c(), pb.dim, dimPad, null, p0, vbw, vbPad, s.cRows);
            logits[b] = new float[vbPad * nPad];
            LogitTiles.computeLogits(k, nr, s.cRows, eT, dimPad, vbw, vbPad, nPad, ops.bias(), null, p0, o.softcap(), logits[b]);
        });

        float[] lse = new float[n];
        float[] targetLogit = new float[n];
        double[] logitSum = new double[n];
        int[] argmax = o.accuracy() ? new int[n] : null;
        int chunks = Blocks.ceilDiv(n, ROW_CHUNK);
        CpuParallel.forEach(chunks, c -> {
            int i0 = c * ROW_CHUNK;
            int len = Math.min(ROW_CHUNK, n - i0);
            float[] max = new float[len];
            float[] sum = new float[len];
            float[] zs = new float[len];
            Arrays.fill(max, Float.NEGATIVE_INFINITY);
            for (int b = 0; b < blocks; b++) {
                int vbw = Math.min(VOCAB_BLOCK, pb.vocab - b * VOCAB_BLOCK);
                for (int j = 0; j < vbw; j++) k.maxInto(logits[b], j * nPad + i0, max, len);
            }
            double[] total = new double[len];
            for (int b = 0; b < blocks; b++) {
                float[] z = logits[b];
                int vbw = Math.min(VOCAB_BLOCK, pb.vocab - b * VOCAB_BLOCK);
                Arrays.fill(sum, 0f);
                for (int j = 0; j < vbw; j++) k.sumExpInto(z, j * nPad + i0, max, sum, len);
                for (int i = 0; i < len; i++) total[i] += sum[i];
                if (o.labelSmoothing() != 0) {
                    Arrays.fill(zs, 0f);
                    for (int j = 0; j < vbw; j++) k.addTo(z, j * nPad + i0, zs, 0, len);
                    for (int i = 0; i < len; i++) logitSum[i0 + i] += zs[i];
                }
            }
            if (argmax != null) firstMaxima(logits, pb.vocab, nPad, i0, len, max, argmax);
            for (int i = 0; i < len; i++) {
                int r = i0 + i;
                lse[r] = (float) (max[i] + Math.log(total[i]));
                int t = pb.targetOfRow[r];
                if (t >= 0) targetLogit[r] = logits[t / VOCAB_BLOCK][(t % VOCAB_BLOCK) * nPad + r];
            }
        });
        return LossAssembly.forwardResult(inputs, o, pb, lse, targetLogit, logitSum, argmax,
                new Saved(ops, logits, eRows, nPad, dimPad, lse, targetLogit));
    }

    /**
     * argmax[i0 + i] = the first vocabulary index whose logit equals the row's maximum max[i]: blocks
     * in increasing order, each one's per-row maximum by the vector kernel, and a search of the first
     * block that reaches it.
     */
    private void firstMaxima(float[][] logits, int vocab, int nPad, int i0, int len, float[] max, int[] argmax) {
        float[] blockMax = new float[len];
        boolean[] found = new boolean[len];
        int left = len;
        for (int b = 0; b < logits.length && left > 0; b++) {
            int vbw = Math.min(VOCAB_BLOCK, vocab - b * VOCAB_BLOCK);
            Arrays.fill(blockMax, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < vbw; j++) k.maxInto(logits[b], j * nPad + i0, blockMax, len);
            for (int i = 0; i < len; i++) {
                if (found[i] || blockMax[i] != max[i]) continue;
                int j = 0;
                while (logits[b][j * nPad + i0 + i] != max[i]) j++;
                argmax[i0 + i] = b * VOCAB_BLOCK + j;
                found[i] = true;
                left--;
            }
        }
    }

    @Override
    public CceGradients backward(CceForward fwd, Tensor upstream, CceGradients into) {
        Saved sv = (Saved) fwd.saved();
        CceProblem pb = fwd.problem();
        CceOptions o = fwd.options();
        CceGradients out = LossAssembly.gradientTargets(fwd.inputs(), pb, into);
        float[] rowScale = LossAssembly.rowScales(pb, o, upstream);
        int n = pb.rows, nPad = sv.nPad(), dimPad = sv.dimPad(), nr = k.nr();
        float alpha = o.labelSmoothing(), cap = o.softcap();
        float[][] logits = sv.logits();

        // the logits become the gradient in place: g = (p·(1 + 2λ·lse) − α/V − (1−α)·onehot) · scale · softcap'
        float[] shift = new float[nPad], mul = new float[nPad], scale = new float[nPad];
        Arrays.fill(shift, Float.POSITIVE_INFINITY);
        for (int r = 0; r < n; r++) {
            shift[r] = sv.lse()[r];
            mul[r] = 1f + 2f * o.zLossWeight() * sv.lse()[r];
            scale[r] = rowScale[r];
        }
        float offset = -alpha / pb.vocab;
        CpuParallel.forEach(logits.length, b -> {
            float[] z = logits[b];
            int vbw = Math.min(VOCAB_BLOCK, pb.vocab - b * VOCAB_BLOCK);
            float[] fac = cap > 0 ? new float[nPad] : null;
            for (int j = 0; j < vbw; j++) {
                if (cap > 0) k.softcapDerivative(z, j * nPad, fac, 0, nPad, cap);
                k.expMulAdd(z, j * nPad, shift, mul, offset, nPad);
                k.mul(z, j * nPad, scale, 0, nPad);
                if (cap > 0) k.mul(z, j * nPad, fac, 0, nPad);
            }
            Arrays.fill(z, vbw * nPad, z.length, 0f);
        });
        for (int r = 0; r < n; r++) {
            int t = pb.targetOfRow[r];
            if (t < 0) continue;
            float zt = sv.targetLogit()[r] / (cap > 0 ? cap : 1f);
            float fac = cap > 0 ? 1f - zt * zt : 1f;
            logits[t / VOCAB_BLOCK][(t % VOCAB_BLOCK) * nPad + r] -= (1f - alpha) * scale[r] * fac;
        }
        for (float[] z : logits) {
            for (int j = 0; j < z.length / nPad; j++) {
                if (n < nPad) Arrays.fill(z, j * nPad + n, (j + 1) * nPad, 0f); // padded rows carry no gradient
            }
        }

        if (out.dBias() != null) {
            float[] dBias = new float[pb.vocab];
            for (int v = 0; v < pb.vocab; v++) dBias[v] = k.sum(logits[v / VOCAB_BLOCK], (v % VOCAB_BLOCK) * nPad, n);
            LossAssembly.addInto(dBias, out.dBias());
        }
        if (out.dEmbeddings() != null) {
            MemorySegment dE = out.dEmbeddings().data();
            int chunks = Blocks.ceilDiv(n, ROW_CHUNK);
            CpuParallel.forEach(chunks, c -> {
                int i0 = c * ROW_CHUNK;
                int len = Math.min(ROW_CHUNK, n - i0);
                int lenPad = Blocks.roundUp(len, CpuKernels.MR);
                float[] deTile = new float[lenPad * dimPad];
                TileScratch s = TileScratch.get();
                s.reserve(nr, dimPad, VOCAB_BLOCK, false);
                for (int b = 0; b < logits.length; b++) {
                    int p0 = b * VOCAB_BLOCK;
                    int vbw = Math.min(VOCAB_BLOCK, pb.vocab - p0);
                    int vbPad = Blocks.roundUp(vbw, CpuKernels.MR);
                    LogitTiles.loadVocabBlock(sv.ops().c(), pb.dim, dimPad, null, p0, vbw, vbPad, s.cRows);
                    for (int dp = 0; dp < dimPad; dp += nr) {
                        for (int i = 0; i < lenPad; i += CpuKernels.MR) {
                            k.gemmTile(vbPad, logits[b], i0 + i, 1, nPad, s.cRows, dp, dimPad, deTile, i * dimPad + dp, dimPad);
                        }
                    }
                }
                for (int i = 0; i < len; i++) k.addToSegment(deTile, i * dimPad, dE, (long) (i0 + i) * pb.dim * 4, pb.dim);
            });
        }
        if (out.dClassifier() != null) {
            MemorySegment dC = out.dClassifier().data();
            CpuParallel.forEach(logits.length, b -> {
                int p0 = b * VOCAB_BLOCK;
                int vbw = Math.min(VOCAB_BLOCK, pb.vocab - p0);
                int vbPad = Blocks.roundUp(vbw, CpuKernels.MR);
                float[] dcTile = new float[vbPad * dimPad];
                for (int j = 0; j < vbPad; j += CpuKernels.MR) {
                    for (int dp = 0; dp < dimPad; dp += nr) {
                        k.gemmTile(nPad, logits[b], j * nPad, nPad, 1, sv.eRows(), dp, dimPad, dcTile, j * dimPad + dp, dimPad);
                    }
                }
                for (int j = 0; j < vbw; j++) k.addToSegment(dcTile, j * dimPad, dC, (long) (p0 + j) * pb.dim * 4, pb.dim);
            });
        }
        return out;
    }
}
