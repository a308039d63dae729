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
import java.util.stream.IntStream;

/**
 * Cut Cross-Entropy on the CPU: the logits only ever exist as one 128×128 tile per thread.
 * <pre>
 * forward, per (row group, vocab group) task of the LatinSchedule:
 *   Eᵀ of the group → scratch once;  for each vocab block: C rows → scratch, tile = C·Eᵀ (+b, softcap),
 *   online max / Σexp per row, the target's logit, Σz (smoothing), Σz per vocab entry (sorting),
 *   with accuracy the first index of each row's maximum (searched only in blocks that raise the max)
 * backward, same tasks, the vocabulary in sorted order:
 *   recompute the tile, q = softmax·(1 + 2λ·lse) − α/V − (1−α)·onehot,
 *   skip 4-row strips (dE, with filterEGrad) / 4-entry strips (dC, with filterCGrad) whose |q| < filterEps,
 *   g = q · upstream · w (· softcap'),
 *   dE(group) += g·C (kept in scratch until the task ends),  dC(block) += gᵀ·E,  dBias += Σ g
 * </pre>
 * Memory beyond inputs and gradients: O(N + V) statistics and O(threads × block) scratch.
 * {@code exact} turns off filtering and sorting (the {@code cce-exact} implementation).
 */
public final class CpuCutCrossEntropy implements LinearCrossEntropy {
    /**
     * Below this filter threshold (f32 inputs default to 2⁻²⁸) almost no strip is skippable, and
     * sorting would only cost its gathers and scatters (about 10% measured on the CPU).
     */
    static final float MIN_EPS_FOR_SORTING = 0x1p-20f;

    private final boolean exact;
    private final CpuKernels k;

    public CpuCutCrossEntropy(boolean exact) {
        this(exact, CpuKernelSelector.best());
    }

    public CpuCutCrossEntropy(boolean exact, CpuKernels kernels) {
        this.exact = exact;
        this.k = kernels;
    }

    /** What the backward needs from the forward. */
    private record Saved(F32Operands ops, float[] lse, int[] vocabOrder) implements AutoCloseable {
        @Override
        public void close() {
            ops.close();
        }
    }

    @Override
    public CceForward forward(CceInputs inputs, CceOptions o) {
        CceProblem pb = CceProblem.of(inputs, o);
        F32Operands ops = F32Operands.of(inputs);
        int[] rows = o.returnLse() ? IntStream.range(0, pb.rows).toArray() : pb.countingRows;
        boolean sortVocab = !exact && o.vocabSorting() && pb.countingRows.length > 0 && (o.filterEGrad() || o.filterCGrad())
                && o.effectiveFilterEps(pb.inputEpsilon) >= MIN_EPS_FOR_SORTING;

        float[] rowMax = new float[pb.rows];
        Arrays.fill(rowMax, Float.NEGATIVE_INFINITY);
        double[] rowSumExp = new double[pb.rows];
        double[] rowLogitSum = new double[pb.rows];
        float[] targetLogit = new float[pb.rows];
        double[] vocabLogitSum = sortVocab ? new double[pb.vocab] : null;
        int[] argmax = o.accuracy() ? new int[pb.rows] : null;
        if (argmax != null) Arrays.fill(argmax, Integer.MAX_VALUE);

        if (rows.length > 0) {
            CceBlocking bl = CceBlocking.of(rows.length, pb.vocab, pb.dim, k.nr(), CpuParallel.threads());
            LatinSchedule.run(bl.rowGroups(), bl.vocabGroups(), (rg, vg) -> forwardTask(bl, pb, o, ops, rows, rg, vg,
                    rowMax, rowSumExp, rowLogitSum, targetLogit, vocabLogitSum, argmax));
        }
        float[] lse = LossAssembly.nanArray(pb.rows);
        for (int r : rows) lse[r] = (float) (rowMax[r] + Math.log(rowSumExp[r]));
        int[] order = sortVocab ? sortedByAverageLogit(vocabLogitSum) : null;
        return LossAssembly.forwardResult(inputs, o, pb, lse, targetLogit, rowLogitSum, argmax, new Saved(ops, lse, order));
    }

    private void forwardTask(CceBlocking bl, CceProblem pb, CceOptions o, F32Operands ops, int[] rows, int rg, int vg,
                             float[] rowMax, double[] rowSumExp, double[] rowLogitSum, float[] targetLogit,
                             double[] vocabLogitSum, int[] argmax) {
        int nr = k.nr();
        int from = bl.rowFrom(rg);
        int n = bl.rowTo(rg) - from;
        int nPad = Blocks.roundUp(n, nr);
        int dimPad = bl.dimPad();
        TileScratch s = TileScratch.get();
        s.reserve(nPad, dimPad, bl.vocabBlock(), false);
        LogitTiles.loadRowGroup(ops.e(), pb.dim, dimPad, nr, rows, from, n, nPad, s.eRows, s.eT);

        // per-block sums are f32 (at most 128 terms); across blocks they accumulate in f64
        float[] runMax = s.colA, blockSum = s.colB, blockMax = s.colC, blockLogitSum = s.colD, counts = s.colE;
        double[] runSum = new double[n];
        double[] logitSum = new double[n];
        int[] runArg = argmax == null ? null : new int[n];
        Arrays.fill(runMax, 0, n, Float.NEGATIVE_INFINITY);
        Arrays.fill(runMax, n, nPad, 0f); // padded columns: any finite shift
        for (int i = 0; i < nPad; i++) counts[i] = i < n && pb.targetOfRow[rows[from + i]] >= 0 ? 1f : 0f;
        boolean smoothing = o.labelSmoothing() != 0;

        int vEnd = bl.vocabTo(vg);
        for (int p0 = bl.vocabFrom(vg); p0 < vEnd; p0 += bl.vocabBlock()) {
            int vbw = Math.min(bl.vocabBlock(), vEnd - p0);
            int vbPad = Blocks.roundUp(vbw, CpuKernels.MR);
            LogitTiles.loadVocabBlock(ops.c(), pb.dim, dimPad, null, p0, vbw, vbPad, s.cRows);
            LogitTiles.computeLogits(k, nr, s.cRows, s.eT, dimPad, vbw, vbPad, nPad, ops.bias(), null, p0, o.softcap(), s.zT);
            float[] z = s.zT;

            Arrays.fill(blockMax, 0, n, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < vbw; j++) k.maxInto(z, j * nPad, blockMax, n);
            if (runArg != null) firstMaxima(z, nPad, n, vbw, p0, blockMax, runMax, runArg);
            for (int i = 0; i < n; i++) {
                if (blockMax[i] > runMax[i]) {
                    runSum[i] *= Math.exp((double) runMax[i] - blockMax[i]);
                    runMax[i] = blockMax[i];
                }
            }
            Arrays.fill(blockSum, 0, nPad, 0f);
            for (int j = 0; j < vbw; j++) k.sumExpInto(z, j * nPad, runMax, blockSum, nPad);
            for (int i = 0; i < n; i++) runSum[i] += blockSum[i];
            if (smoothing) {
                Arrays.fill(blockLogitSum, 0, nPad, 0f);
                for (int j = 0; j < vbw; j++) k.addTo(z, j * nPad, blockLogitSum, 0, nPad);
                for (int i = 0; i < n; i++) logitSum[i] += blockLogitSum[i];
            }
            for (int i = 0; i < n; i++) {
                int t = pb.targetOfRow[rows[from + i]];
                if (t >= p0 && t < p0 + vbw) targetLogit[rows[from + i]] = z[(t - p0) * nPad + i];
            }
            if (vocabLogitSum != null) {
                for (int j = 0; j < vbw; j++) vocabLogitSum[p0 + j] += k.dot(z, j * nPad, counts, 0, nPad);
            }
        }
        for (int i = 0; i < n; i++) {
            int r = rows[from + i];
            float m = Math.max(rowMax[r], runMax[i]);
            // vocabulary groups meet in any order: the larger maximum wins, a tie goes to the smaller index
            if (argmax != null && (runMax[i] > rowMax[r] || (runMax[i] == rowMax[r] && runArg[i] < argmax[r]))) argmax[r] = runArg[i];
            rowSumExp[r] = rowSumExp[r] * Math.exp((double) rowMax[r] - m) + runSum[i] * Math.exp((double) runMax[i] - m);
            rowMax[r] = m;
            rowLogitSum[r] += logitSum[i];
        }
    }

    /**
     * For every row whose block maximum beats its running maximum (blocks come in increasing vocabulary
     * order, so an equal maximum keeps the earlier index): the first entry of the block that holds it.
     * Few blocks raise a row's maximum, so this costs O(vbw) for few (row, block) pairs.
     */
    private static void firstMaxima(float[] z, int nPad, int n, int vbw, int p0, float[] blockMax, float[] runMax, int[] runArg) {
        for (int i = 0; i < n; i++) {
            if (!(blockMax[i] > runMax[i])) continue;
            for (int j = 0; j < vbw; j++) {
                if (z[j * nPad + i] == blockMax[i]) {
                    runArg[i] = p0 + j;
                    break;
                }
            }
        }
    }

    /**
     * Vocabulary indices in increasing order of their summed (so average) logit over counted rows,
     * ties by index: each key packs the sum (as f32 bits made order-preserving) above the index.
     */
    private static int[] sortedByAverageLogit(double[] vocabLogitSum) {
        long[] keys = new long[vocabLogitSum.length];
        for (int v = 0; v < keys.length; v++) {
            int bits = Float.floatToIntBits((float) vocabLogitSum[v]);
            int ordered = bits >= 0 ? bits : bits ^ 0x7fffffff; // negative floats: reverse their order
            keys[v] = ((long) ordered << 32) | v;
        }
        Arrays.sort(keys);
        int[] order = new int[keys.length];
        for (int p = 0; p < keys.length; p++) order[p] = (int) keys[p];
        return order;
    }

    @Override
    public CceGradients backward(CceForward fwd, Tensor upstream, CceGradients into) {
        Saved sv = (Saved) fwd.saved();
        CceProblem pb = fwd.problem();
        CceOptions o = fwd.options();
        CceGradients out = LossAssembly.gradientTargets(fwd.inputs(), pb, into);
        float[] rowScale = LossAssembly.rowScales(pb, o, upstream);
        int[] rows = pb.countingRows;
        if (rows.length == 0) return out;

        int[] order = sv.vocabOrder();
        int[] position = null;
        if (order != null) {
            position = new int[pb.vocab];
            for (int p = 0; p < order.length; p++) position[order[p]] = p;
        }
        float epsE = exact ? 0f : o.embeddingFilterEps(pb.inputEpsilon);
        float epsC = exact ? 0f : o.classifierFilterEps(pb.inputEpsilon);
        float[] dBias = out.dBias() != null ? new float[pb.vocab] : null;
        CceBlocking bl = CceBlocking.of(rows.length, pb.vocab, pb.dim, k.nr(), CpuParallel.threads());
        int[] positions = position;
        LatinSchedule.run(bl.rowGroups(), bl.vocabGroups(), (rg, vg) -> backwardTask(bl, pb, o, sv, rows, rg, vg,
                order, positions, rowScale, epsE, epsC, out, dBias));
        if (dBias != null) LossAssembly.addInto(dBias, out.dBias());
        return out;
    }

    private void backwardTask(CceBlocking bl, CceProblem pb, CceOptions o, Saved sv, int[] rows, int rg, int vg,
                              int[] order, int[] position, float[] rowScale, float epsE, float epsC, CceGradients out,
                              float[] dBias) {
        int nr = k.nr();
        int from = bl.rowFrom(rg);
        int n = bl.rowTo(rg) - from;
        int nPad = Blocks.roundUp(n, nr);
        int dimPad = bl.dimPad();
        int dim = pb.dim;
        TileScratch s = TileScratch.get();
        s.reserve(nPad, dimPad, bl.vocabBlock(), true);
        F32Operands ops = sv.ops();
        LogitTiles.loadRowGroup(ops.e(), dim, dimPad, nr, rows, from, n, nPad, s.eRows, s.eT);

        float alpha = o.labelSmoothing();
        float lambda = o.zLossWeight();
        float cap = o.softcap();
        float[] shift = s.colA, mul = s.colB, scale = s.colC, rowMaxQ = s.colD;
        int[] targetPos = new int[n];
        for (int i = 0; i < nPad; i++) {
            if (i < n) {
                int r = rows[from + i];
                float l = sv.lse()[r];
                shift[i] = l;
                mul[i] = 1f + 2f * lambda * l;
                scale[i] = rowScale[r];
                int t = pb.targetOfRow[r];
                targetPos[i] = position == null ? t : position[t];
            } else {
                shift[i] = Float.POSITIVE_INFINITY;
                mul[i] = 0f;
                scale[i] = 0f;
            }
        }
        float offset = -alpha / pb.vocab;
        boolean wantDE = out.dEmbeddings() != null;
        boolean wantDC = out.dClassifier() != null;
        if (wantDE) Arrays.fill(s.deTile, 0, nPad * dimPad, 0f);
        boolean[] skipRows = new boolean[nPad / CpuKernels.MR];
        boolean[] skipVocab = new boolean[Blocks.roundUp(bl.vocabBlock(), CpuKernels.MR) / CpuKernels.MR];

        int vEnd = bl.vocabTo(vg);
        for (int p0 = bl.vocabFrom(vg); p0 < vEnd; p0 += bl.vocabBlock()) {
            int vbw = Math.min(bl.vocabBlock(), vEnd - p0);
            int vbPad = Blocks.roundUp(vbw, CpuKernels.MR);
            LogitTiles.loadVocabBlock(ops.c(), dim, dimPad, order, p0, vbw, vbPad, s.cRows);
            LogitTiles.computeLogits(k, nr, s.cRows, s.eT, dimPad, vbw, vbPad, nPad, ops.bias(), order, p0, cap, s.zT);
            float[] z = s.zT;

            // q = softmax·(1 + 2λ·lse) − α/V − (1−α)·onehot
            for (int j = 0; j < vbw; j++) {
                if (cap > 0) k.softcapDerivative(z, j * nPad, s.facT, j * nPad, nPad, cap);
                k.expMulAdd(z, j * nPad, shift, mul, offset, nPad);
            }
            for (int i = 0; i < n; i++) {
                int t = targetPos[i] - p0;
                if (t >= 0 && t < vbw) z[t * nPad + i] -= 1f - alpha;
            }
            boolean anyWork = markSkips(z, n, nPad, vbw, epsE, epsC, rowMaxQ, s.rowA, skipRows, skipVocab, wantDE, wantDC);

            // g = q · upstream · weight (· softcap')
            for (int j = 0; j < vbw; j++) {
                k.mul(z, j * nPad, scale, 0, nPad);
                if (cap > 0) k.mul(z, j * nPad, s.facT, j * nPad, nPad);
                if (dBias != null) dBias[order == null ? p0 + j : order[p0 + j]] += k.sum(z, j * nPad, n);
            }
            if (!anyWork) continue;
            if (wantDE) {
                for (int dp = 0; dp < dimPad; dp += nr) {
                    for (int it = 0; it * CpuKernels.MR < n; it++) {
                        if (skipRows[it]) continue;
                        int i0 = it * CpuKernels.MR;
                        k.gemmTile(vbPad, z, i0, 1, nPad, s.cRows, dp, dimPad, s.deTile, i0 * dimPad + dp, dimPad);
                    }
                }
            }
            if (wantDC) {
                MemorySegment dC = out.dClassifier().data();
                for (int jt = 0; jt * CpuKernels.MR < vbw; jt++) {
                    if (skipVocab[jt]) continue;
                    int j0 = jt * CpuKernels.MR;
                    Arrays.fill(s.dcTile, j0 * dimPad, (j0 + CpuKernels.MR) * dimPad, 0f);
                    for (int dp = 0; dp < dimPad; dp += nr) {
                        k.gemmTile(nPad, z, j0 * nPad, nPad, 1, s.eRows, dp, dimPad, s.dcTile, j0 * dimPad + dp, dimPad);
                    }
                    for (int j = j0; j < Math.min(j0 + CpuKernels.MR, vbw); j++) {
                        int v = order == null ? p0 + j : order[p0 + j];
                        k.addToSegment(s.dcTile, j * dimPad, dC, (long) v * dim * 4, dim);
                    }
                }
            }
        }
        if (wantDE) {
            MemorySegment dE = out.dEmbeddings().data();
            for (int i = 0; i < n; i++) {
                k.addToSegment(s.deTile, i * dimPad, dE, (long) rows[from + i] * dim * 4, dim);
            }
        }
    }

    /**
     * Marks the 4-row strips (for dE, below epsE) and 4-entry strips (for dC, below epsC) of the block
     * whose every |q| is below that side's eps; an eps of 0 skips nothing on its side. Returns false
     * when nothing is left to compute for the gradients asked for.
     */
    private boolean markSkips(float[] q, int n, int nPad, int vbw, float epsE, float epsC, float[] rowMaxQ, float[] vocabMaxQ,
                              boolean[] skipRows, boolean[] skipVocab, boolean wantDE, boolean wantDC) {
        int mr = CpuKernels.MR;
        if (epsE > 0) Arrays.fill(rowMaxQ, 0, n, 0f);
        if (epsE > 0 || epsC > 0) {
            for (int j = 0; j < vbw; j++) {
                if (epsE > 0) k.absMaxInto(q, j * nPad, rowMaxQ, n);
                if (epsC > 0) vocabMaxQ[j] = k.absMax(q, j * nPad, n);
            }
        }
        boolean work = false;
        for (int it = 0; it * mr < n; it++) {
            float m = 0;
            if (epsE > 0) for (int i = it * mr; i < Math.min(n, it * mr + mr); i++) m = Math.max(m, rowMaxQ[i]);
            skipRows[it] = epsE > 0 && m < epsE;
            work |= wantDE && !skipRows[it];
        }
        for (int jt = 0; jt * mr < vbw; jt++) {
            float m = 0;
            if (epsC > 0) for (int j = jt * mr; j < Math.min(vbw, jt * mr + mr); j++) m = Math.max(m, vocabMaxQ[j]);
            skipVocab[jt] = epsC > 0 && m < epsC;
            work |= wantDC && !skipVocab[jt];
        }
        return work;
    }
}
