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
import org.cce4j.core.tensor.Device;
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
 * (CCE, its exact mode, the baseline). What reads E, C or per-row values is a {@link VocabParallelOps}
 * chosen by the device of E (the host's, or on CUDA {@code core.loss.cuda.CudaVocabParallelOps}, whose
 * kernels keep everything but the O(N) targets and scales on the device); the collectives then run on
 * tensors of that device, so the communicator must take them (on GPUs {@code NcclCommunicator}). Options:
 * ignore index, softcap, reductions (the mean divides by the
 * global count, which every rank knows), shift, bias, token weights, z-loss, filters, sorting, returnLse;
 * label smoothing and accuracy are refused. Every rank must call forward and backward alike (each is one
 * collective; the first forward adds one that checks that the shards tile the vocabulary).
 */
public final class VocabParallelCrossEntropy implements LinearCrossEntropy {
    private final Communicator comm;
    private final LinearCrossEntropy inner;
    private final VocabShard shard;
    private VocabParallelOps ops;
    private boolean shardsChecked;

    /** What the backward needs. */
    private record State(CceForward local, Tensor localTargets, VocabParallelOps.Rows rows, Tensor keep, CceProblem problem)
            implements AutoCloseable {
        @Override
        public void close() {
            local.close();
            localTargets.close();
            rows.close();
            if (keep != null) keep.close();
        }
    }

    /**
     * @param inner the loss each rank runs over its shard
     * @param shard this rank's rows of the classifier ({@link VocabShard#balanced} for the usual split)
     */
    public VocabParallelCrossEntropy(Communicator comm, LinearCrossEntropy inner, VocabShard shard) {
        this(comm, inner, shard, null);
    }

    /** With the per-row operations given ({@code null}: found by the device of the embeddings, {@link VocabParallelOps#forDevice}). */
    public VocabParallelCrossEntropy(Communicator comm, LinearCrossEntropy inner, VocabShard shard, VocabParallelOps ops) {
        this.comm = comm;
        this.inner = inner;
        this.shard = shard;
        this.ops = ops;
    }

    public VocabShard shard() {
        return shard;
    }

    private VocabParallelOps ops(CceInputs in) {
        if (ops == null) {
            if (in.embeddings() == null) CceProblem.checkShapes(in); // names what is missing
            ops = VocabParallelOps.forDevice(in.embeddings().device());
        }
        return ops;
    }

    @Override
    public CceForward forward(CceInputs in, CceOptions o) {
        if (o.labelSmoothing() != 0) throw new InvalidInputException("the vocabulary-parallel loss does not support label smoothing");
        if (o.accuracy()) throw new InvalidInputException("the vocabulary-parallel loss does not support accuracy");
        VocabParallelOps ops = ops(in);
        Tensor[] all = {in.embeddings(), in.classifier(), in.bias(), in.targets(), in.tokenWeights()};
        for (int i = 0; i < all.length; i++) {
            Tensor t = all[i];
            // E and C on the ops' device; the bias, targets and weights there or on the host
            if (t != null && !ops.supports(t.device()) && (i < 2 || !t.device().isCpu())) {
                throw new InvalidInputException("the vocabulary-parallel loss runs on " + in.embeddings().device() + " here, but got " + t);
            }
        }
        checkShards(ops, in.embeddings().device());
        Tensor c = in.classifier();
        if (c == null || c.rank() != 2 || c.dim(0) != shard.rows()) {
            throw new InvalidInputException("this rank's classifier must hold its " + shard.rows() + " vocabulary rows [" + shard.start() + ", "
                    + shard.stop() + "), got " + (c == null ? "none" : Shapes.toString(c.shape())));
        }
        if (in.targets() == null || (in.targets().dtype() != DType.I32 && in.targets().dtype() != DType.I64)) {
            CceProblem.checkShapes(in); // names the problem
        }
        // targets and token weights are O(N): validated and mapped to local columns on the host
        Tensor targets = in.targets().device().isCpu() ? in.targets() : ops.toHost(in.targets());
        Tensor weights = in.tokenWeights() == null || in.tokenWeights().device().isCpu() ? in.tokenWeights() : ops.toHost(in.tokenWeights());
        Tensor localTargets = Tensor.zeros(DType.I64, targets.shape());
        CceForward local = null;
        VocabParallelOps.Rows rows = null;
        try {
            int ignore = o.ignoreIndex();
            for (long p = 0; p < targets.numel(); p++) {
                long t = targets.getLong(p);
                if (t != ignore && (t < 0 || t >= shard.vocab())) {
                    throw new InvalidInputException("target " + t + " at position " + p + " is outside [0, " + shard.vocab()
                            + ") and is not the ignore index " + ignore);
                }
                // a target in another shard counts here too (its row's softmax spans every shard), at column 0
                localTargets.setLong(p, t == ignore ? ignore : shard.contains(t) ? t - shard.start() : 0);
            }
            CceInputs localIn = new CceInputs(in.embeddings(), c, localTargets, in.bias(), null);
            CceProblem pb = CceProblem.of(localIn.withTokenWeights(weights), o);
            boolean[] inShard = new boolean[pb.rows];
            for (int r : pb.countingRows) inShard[r] = shard.contains(targets.getLong(r + o.shift()));
            local = inner.forward(localIn, o.withReduction(Reduction.NONE).withZLossWeight(0f));
            rows = ops.start(localIn, local, pb, inShard, o);

            // one collective: every rank's [lse | target logit where the target is in its shard]
            VocabParallelOps.Merged merged;
            try (Tensor part = rows.partials(); Tensor gathered = rows.gatherBuffer(comm.size())) {
                comm.allGather(part, gathered).await();
                merged = rows.merge(gathered, comm.size());
            }
            State st = new State(local, localTargets, rows, merged.keep(), pb);
            return new CceForward(in, o, pb, merged.loss(), merged.tokenLoss(), merged.lse(), merged.lossValue(), st);
        } catch (RuntimeException e) {
            if (rows != null) rows.close();
            if (local != null) local.close();
            localTargets.close();
            throw e;
        } finally {
            if (targets != in.targets()) targets.close();
            if (weights != in.tokenWeights()) weights.close();
        }
    }

    @Override
    public CceGradients backward(CceForward fwd, Tensor upstream, CceGradients into) {
        if (!(fwd.saved() instanceof State st)) throw new InvalidInputException("this forward was not made by the vocabulary-parallel loss");
        VocabParallelOps.Rows rows = st.rows();
        CceInputs in = fwd.inputs();
        boolean wantDE = into == null || into.dEmbeddings() != null;
        Tensor partialDE = null;
        CceGradients g;
        try (Tensor up = rows.upstream(upstream)) {
            if (into == null) {
                g = inner.backward(st.local(), up, null);
                partialDE = g.dEmbeddings();
            } else {
                partialDE = wantDE ? rows.zeros(in.embeddings().shape()) : null;
                inner.backward(st.local(), up, new CceGradients(partialDE, into.dClassifier(), into.dBias()));
                g = into;
            }
        }
        rows.correct(partialDE, g.dClassifier(), g.dBias());
        if (partialDE != null) {
            comm.allReduceSum(partialDE).await();
            if (into != null) {
                rows.add(into.dEmbeddings(), partialDE);
                partialDE.close();
            }
        }
        return g;
    }

    /** Once: every rank's shard, gathered, must tile [0, vocab) in rank order. */
    private void checkShards(VocabParallelOps ops, Device device) {
        if (shardsChecked) return;
        long[] all;
        try (Tensor hostMine = Tensor.of(new long[] {shard.start(), shard.stop(), shard.vocab()}, 3);
             Tensor hostAll = Tensor.zeros(DType.I64, 3L * comm.size());
             Tensor mine = ops.copyTo(hostMine, device); Tensor gathered = ops.copyTo(hostAll, device)) {
            comm.allGather(mine, gathered).await();
            if (gathered.device().isCpu()) {
                all = gathered.toLongArray();
            } else {
                try (Tensor h = ops.toHost(gathered)) {
                    all = h.toLongArray();
                }
            }
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
