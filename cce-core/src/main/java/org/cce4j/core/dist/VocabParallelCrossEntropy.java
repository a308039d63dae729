package org.cce4j.core.dist;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * The loss with the classifier split over the ranks by vocabulary (as in tensor-parallel training):
 * rank r holds C rows [start, stop) (and those of the bias), E and the targets are the same on every
 * rank, and every rank gets the loss of the whole vocabulary, the whole dE and its own shard of dC.
 * <pre>
 *   forward   local = inner loss over the shard (reduction none): lse_r per row
 *             z_t   = the target's logit, on the rank whose shard holds the target (0 elsewhere)
 *             all-gather [lse_r | z_t] → LSE = m + log Σ_r exp(lse_r − m) (rank order),  loss = w·(LSE − z_t + λ·LSE²)
 *   backward  wanted, per row i and shard column j:  g = s_i·(exp(z_ij − LSE_i)·(1 + 2λ·LSE_i) − [j = t_i])·softcap'
 *             the inner backward, given the per-row upstream u_i = s_i·exp(lse_r − LSE)·(1 + 2λ·LSE), computes
 *             u_i·(exp(z_ij − lse_r) − [j = t'_i]) for a local target t'_i (the real one, or column 0 when the
 *             target is elsewhere), so one rank-one correction (u_i − s_i·[t_i in shard])·softcap' at column t'_i
 *             makes it exact; then dE is all-reduced, dC and dBias stay local
 * </pre>
 * The inner loss is used through its public contract alone, so any {@link LinearCrossEntropy} serves
 * (CCE, its exact mode, the baseline). The correction reads E and C, so inputs must be host tensors: on
 * CUDA this loss is not built yet. Options: ignore index, softcap, reductions (the mean divides by the
 * global count, which every rank knows), shift, bias, token weights, z-loss, filters, sorting, returnLse;
 * label smoothing and accuracy are refused. Every rank must call forward and backward alike (each is one
 * collective; the first forward adds one that checks that the shards tile the vocabulary).
 */
public final class VocabParallelCrossEntropy implements LinearCrossEntropy {
    private final Communicator comm;
    private final LinearCrossEntropy inner;
    private final VocabShard shard;
    private boolean shardsChecked;

    /** What the backward needs. */
    private record State(CceForward local, Tensor localTargets, float[] lseLocal, float[] lseGlobal, float[] capDerivative,
                         int[] localColumn, boolean[] inShard, CceProblem problem) implements AutoCloseable {
        @Override
        public void close() {
            local.close();
            localTargets.close();
        }
    }

    /**
     * @param inner the loss each rank runs over its shard
     * @param shard this rank's rows of the classifier ({@link VocabShard#balanced} for the usual split)
     */
    public VocabParallelCrossEntropy(Communicator comm, LinearCrossEntropy inner, VocabShard shard) {
        this.comm = comm;
        this.inner = inner;
        this.shard = shard;
    }

    public VocabShard shard() {
        return shard;
    }

    @Override
    public CceForward forward(CceInputs in, CceOptions o) {
        if (o.labelSmoothing() != 0) throw new InvalidInputException("the vocabulary-parallel loss does not support label smoothing");
        if (o.accuracy()) throw new InvalidInputException("the vocabulary-parallel loss does not support accuracy");
        for (Tensor t : new Tensor[] {in.embeddings(), in.classifier(), in.bias(), in.targets(), in.tokenWeights()}) {
            if (t != null && !t.device().isCpu()) {
                throw new InvalidInputException("the vocabulary-parallel loss needs host tensors (its CUDA path is not built), got " + t);
            }
        }
        checkShards();
        Tensor c = in.classifier();
        if (c == null || c.rank() != 2 || c.dim(0) != shard.rows()) {
            throw new InvalidInputException("this rank's classifier must hold its " + shard.rows() + " vocabulary rows [" + shard.start() + ", "
                    + shard.stop() + "), got " + (c == null ? "none" : Shapes.toString(c.shape())));
        }
        Tensor targets = in.targets();
        if (targets == null || (targets.dtype() != DType.I32 && targets.dtype() != DType.I64)) {
            CceProblem.checkShapes(in); // names the problem
        }
        Tensor localTargets = Tensor.zeros(DType.I64, targets.shape());
        int ignore = o.ignoreIndex();
        for (long p = 0; p < targets.numel(); p++) {
            long t = targets.getLong(p);
            if (t != ignore && (t < 0 || t >= shard.vocab())) {
                localTargets.close();
                throw new InvalidInputException("target " + t + " at position " + p + " is outside [0, " + shard.vocab()
                        + ") and is not the ignore index " + ignore);
            }
            // a target in another shard counts here too (its row's softmax spans every shard), at column 0
            localTargets.setLong(p, t == ignore ? ignore : shard.contains(t) ? t - shard.start() : 0);
        }
        CceProblem pb;
        CceForward local;
        try {
            CceInputs localIn = new CceInputs(in.embeddings(), c, localTargets, in.bias(), null);
            pb = CceProblem.of(localIn.withTokenWeights(in.tokenWeights()), o);
            local = inner.forward(localIn, o.withReduction(Reduction.NONE).withZLossWeight(0f));
        } catch (RuntimeException e) {
            localTargets.close();
            throw e;
        }
        int n = pb.rows;
        float[] lseLocal = local.lse().toFloatArray();
        float[] zLocal = new float[n], capDerivative = new float[n];
        int[] column = new int[n];
        boolean[] inShard = new boolean[n];
        for (int r : pb.countingRows) {
            column[r] = pb.targetOfRow[r];
            inShard[r] = shard.contains(targets.getLong(r + o.shift()));
            double x = dot(in, r, column[r]);
            if (o.softcap() > 0) {
                double th = Math.tanh(x / o.softcap());
                zLocal[r] = (float) (o.softcap() * th);
                capDerivative[r] = (float) (1 - th * th);
            } else {
                zLocal[r] = (float) x;
                capDerivative[r] = 1f;
            }
        }

        // one collective: every rank's [lse | target logit where the target is in its shard]
        float[] mine = new float[2 * n];
        System.arraycopy(lseLocal, 0, mine, 0, n);
        for (int r : pb.countingRows) if (inShard[r]) mine[n + r] = zLocal[r];
        float[] all;
        try (Tensor part = Tensor.of(mine, 2L * n); Tensor gathered = Tensor.zeros(DType.F32, (long) comm.size() * 2 * n)) {
            comm.allGather(part, gathered).await();
            all = gathered.toFloatArray();
        } catch (RuntimeException e) {
            local.close();
            localTargets.close();
            throw e;
        }
        float[] lse = new float[n];
        double[] zTarget = new double[n];
        for (int r = 0; r < n; r++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int q = 0; q < comm.size(); q++) m = Math.max(m, all[q * 2 * n + r]);
            if (!Double.isFinite(m)) {
                lse[r] = Float.NaN;
                continue;
            }
            double s = 0;
            for (int q = 0; q < comm.size(); q++) {
                s += Math.exp(all[q * 2 * n + r] - m);
                zTarget[r] += all[q * 2 * n + n + r];
            }
            lse[r] = (float) (m + Math.log(s));
        }
        float lambda = o.zLossWeight();
        float[] token = new float[n];
        double total = 0;
        for (int r : pb.countingRows) {
            double l = lse[r];
            double v = pb.weightOfRow[r] * (l - zTarget[r] + lambda * l * l);
            token[r] = (float) v;
            total += v;
        }
        float lossValue = (float) (o.reduction() == Reduction.MEAN ? (pb.weightSum == 0 ? 0 : total / pb.weightSum) : total);
        Tensor tokenLoss = Tensor.of(token, pb.leadingShape);
        Tensor loss = o.reduction() == Reduction.NONE ? tokenLoss : Tensor.scalar(lossValue);
        State st = new State(local, localTargets, lseLocal, lse, capDerivative, column, inShard, pb);
        return new CceForward(in, o, pb, loss, tokenLoss, Tensor.of(lse, pb.leadingShape), lossValue, st);
    }

    /** E row r · C row j (+ bias j) in double: the logit before the softcap. */
    private static double dot(CceInputs in, int r, int j) {
        Tensor e = in.embeddings(), c = in.classifier();
        long d = c.dim(1);
        double x = in.bias() == null ? 0 : in.bias().getFloat(j);
        for (long k = 0; k < d; k++) x += (double) e.getFloat(r * d + k) * c.getFloat(j * d + k);
        return x;
    }

    @Override
    public CceGradients backward(CceForward fwd, Tensor upstream, CceGradients into) {
        State st = (State) fwd.saved();
        CceProblem pb = st.problem();
        CceOptions o = fwd.options();
        CceInputs in = fwd.inputs();
        float[] scale = pb.upstreamScale(o.reduction(), upstream);
        double lambda = o.zLossWeight();
        float[] u = new float[pb.rows];
        for (int r : pb.countingRows) {
            scale[r] *= pb.weightOfRow[r];
            double f = Math.exp((double) st.lseLocal()[r] - st.lseGlobal()[r]);
            u[r] = (float) (scale[r] * f * (1 + 2 * lambda * st.lseGlobal()[r]));
        }
        boolean wantDE = into == null || into.dEmbeddings() != null;
        Tensor partialDE = null;
        CceGradients g;
        try (Tensor up = Tensor.of(u, pb.leadingShape)) {
            if (into == null) {
                g = inner.backward(st.local(), up, null);
                partialDE = g.dEmbeddings();
            } else {
                partialDE = wantDE ? Tensor.zeros(DType.F32, in.embeddings().shape()) : null;
                inner.backward(st.local(), up, new CceGradients(partialDE, into.dClassifier(), into.dBias()));
                g = into;
            }
        }
        Tensor dC = g.dClassifier(), dBias = g.dBias(), e = in.embeddings(), c = in.classifier();
        long d = pb.dim;
        for (int r : pb.countingRows) {
            // the inner backward subtracted u·onehot at the local column; the loss wants s·[target in shard] there
            double k = ((double) u[r] - (st.inShard()[r] ? scale[r] : 0)) * st.capDerivative()[r];
            if (k == 0) continue;
            int j = st.localColumn()[r];
            if (partialDE != null) {
                for (long x = 0; x < d; x++) partialDE.setFloat(r * d + x, (float) (partialDE.getFloat(r * d + x) + k * c.getFloat(j * d + x)));
            }
            if (dC != null) {
                for (long x = 0; x < d; x++) dC.setFloat(j * d + x, (float) (dC.getFloat(j * d + x) + k * e.getFloat(r * d + x)));
            }
            if (dBias != null) dBias.setFloat(j, (float) (dBias.getFloat(j) + k));
        }
        if (partialDE != null) {
            comm.allReduceSum(partialDE).await();
            if (into != null) {
                Tensor dst = into.dEmbeddings();
                for (long x = 0; x < dst.numel(); x++) dst.setFloat(x, dst.getFloat(x) + partialDE.getFloat(x));
                partialDE.close();
            }
        }
        return g;
    }

    /** Once: every rank's shard, gathered, must tile [0, vocab) in rank order. */
    private void checkShards() {
        if (shardsChecked) return;
        long[] all;
        try (Tensor mine = Tensor.of(new long[] {shard.start(), shard.stop(), shard.vocab()}, 3);
             Tensor gathered = Tensor.zeros(DType.I64, 3L * comm.size())) {
            comm.allGather(mine, gathered).await();
            all = gathered.toLongArray();
        }
        long next = 0;
        for (int q = 0; q < comm.size(); q++) {
            long start = all[3 * q], stop = all[3 * q + 1], vocab = all[3 * q + 2];
            if (vocab != shard.vocab() || start != next) {
                throw new InvalidInputException("the vocabulary shards of the ranks do not tile [0, " + shard.vocab() + ") in rank order: "
                        + Arrays.toString(all) + " as (start, stop, vocab) per rank");
            }
            next = stop;
        }
        if (next != shard.vocab()) {
            throw new InvalidInputException("the vocabulary shards of the ranks end at " + next + ", not at the vocabulary's " + shard.vocab());
        }
        shardsChecked = true;
    }
}
