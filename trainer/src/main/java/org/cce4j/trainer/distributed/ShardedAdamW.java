package org.cce4j.trainer.distributed;

import org.cce4j.checkpoints.state.TrainingStateFile;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.AdamWStep;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.model.Parameter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ZeRO-1's AdamW: the moments (and f32 master weights, where the parameters are narrower) of this rank's
 * shard of every gradient bucket only ({@link ShardLayout}), about 1/N of the optimizer's memory. A step:
 * <pre>
 *   gradients   reduce-scattered per bucket into this rank's shard                      (GradientSync)
 *   norm²       Σ over the own shards, all-reduced                                      gradSumOfSquares
 *   update      the backend's fused AdamW on each segment: a range of one parameter's
 *               elements, with that parameter's weight decay                            step
 *   weights     the own segments' new values all-gathered per bucket into every rank's parameters
 * </pre>
 * The arithmetic per element is {@code AdamW}'s, so the weights are those of plain data parallelism.
 * A checkpoint gathers the state to rank 0 bucket by bucket in the single-GPU layout (exp_avg.NAME,
 * exp_avg_sq.NAME, master.NAME), and a restore takes each rank's segments out of that layout, so a run
 * resumes on any number of ranks, with or without ZeRO-1.
 */
final class ShardedAdamW implements AutoCloseable {
    private final Backend be;
    private final Communicator comm;
    private final GradientSync sync;
    private final List<Parameter> order;
    private final BucketPlan plan;
    private final DType valueType;
    private final double beta1, beta2, eps, weightDecay, maxGradNorm;
    private final List<List<ShardLayout.Segment>> segments;
    private final Tensor[] m, v, master;
    private long step;

    ShardedAdamW(Backend be, Communicator comm, GradientSync sync, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) {
        this.be = be;
        this.comm = comm;
        this.sync = sync;
        this.order = sync.order();
        this.plan = sync.plan();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.maxGradNorm = maxGradNorm;
        this.valueType = order.isEmpty() ? DType.F32 : order.get(0).value().dtype();
        for (Parameter p : order) {
            if (p.value().dtype() != valueType) {
                throw new InvalidInputException("train.zero: 1 needs every trainable parameter in one dtype: " + p.name() + " is "
                        + p.value().dtype().shortName() + ", " + order.get(0).name() + " " + valueType.shortName());
            }
        }
        int k = plan.buckets().size();
        this.segments = new java.util.ArrayList<>();
        this.m = new Tensor[k];
        this.v = new Tensor[k];
        this.master = new Tensor[k];
        for (int b = 0; b < k; b++) {
            long s = ShardLayout.shardSize(plan.buckets().get(b).numel(), comm.size());
            segments.add(ShardLayout.segments(plan.buckets().get(b), comm.rank(), comm.size()));
            m[b] = be.zeros(DType.F32, s);
            v[b] = be.zeros(DType.F32, s);
            if (valueType != DType.F32) {
                master[b] = be.zeros(DType.F32, s);
                for (ShardLayout.Segment seg : segments.get(b)) be.copy(valueView(seg), view(master[b], seg));
            }
        }
    }

    private Tensor valueView(ShardLayout.Segment seg) {
        Tensor value = order.get(seg.param()).value();
        return value.reshape(value.numel()).slice(seg.from(), seg.to());
    }

    private static Tensor view(Tensor shard, ShardLayout.Segment seg) {
        return shard.slice(seg.shardOffset(), seg.shardOffset() + seg.numel());
    }

    /** The squared global gradient norm from the reduce-scattered shards (padding is zeros), a device f64 [1] the caller closes. */
    Tensor gradSumOfSquares() {
        Tensor acc = be.zeros(DType.F64, 1);
        for (int b = 0; b < m.length; b++) be.sumOfSquares(sync.shard(b), acc);
        comm.allReduceSum(acc).await();
        return acc;
    }

    /** One update of the own segments at {@code lr}, clipping by {@code sumOfSquares}, then every bucket's values all-gathered. */
    void step(double lr, Tensor sumOfSquares) {
        step++;
        AdamWStep base = new AdamWStep(lr, beta1, beta2, eps, 0, step, maxGradNorm);
        for (int b = 0; b < m.length; b++) {
            for (ShardLayout.Segment seg : segments.get(b)) {
                Parameter p = order.get(seg.param());
                be.adamw(valueView(seg), master[b] == null ? null : view(master[b], seg), view(sync.shard(b), seg), view(m[b], seg), view(v[b], seg),
                        maxGradNorm > 0 ? sumOfSquares : null, p.decays() ? base.withWeightDecay(weightDecay) : base);
            }
        }
        gatherValues();
    }

    /** Every rank's segments of the parameters' values into every rank's parameters. */
    void gatherValues() {
        for (int b = 0; b < m.length; b++) {
            BucketPlan.Bucket bucket = plan.buckets().get(b);
            long s = ShardLayout.shardSize(bucket.numel(), comm.size());
            try (Tensor mine = be.zeros(valueType, s); Tensor all = be.empty(valueType, s * comm.size())) {
                for (ShardLayout.Segment seg : segments.get(b)) be.copy(valueView(seg), view(mine, seg));
                comm.allGather(mine, all).await();
                for (BucketPlan.Slot slot : bucket.slots()) {
                    Tensor value = order.get(slot.param()).value();
                    be.copy(all.slice(slot.offset(), slot.offset() + slot.numel()), value.reshape(value.numel()));
                }
            }
        }
    }

    long steps() {
        return step;
    }

    /** Bytes of this rank's optimizer state: its shards' moments and masters, and the gradient shards. */
    long stateBytes() {
        long bytes = 0;
        for (int b = 0; b < m.length; b++) {
            bytes += m[b].byteSize() + v[b].byteSize() + (master[b] == null ? 0 : master[b].byteSize()) + sync.shard(b).byteSize();
        }
        return bytes;
    }

    /**
     * The state in the single-GPU layout, as host tensors on rank 0 (empty elsewhere; the caller closes
     * them): each bucket's shards all-gathered, then cut into its parameters. Collective.
     *
     * @param trainable     the parameters in the optimizer's (and checkpoint's) order
     * @param modelFileType the dtype of the model files: f32 parameters get a master entry when it is narrower
     */
    Map<String, Tensor> hostState(List<Parameter> trainable, DType modelFileType) {
        Map<Parameter, Tensor[]> byParam = new java.util.HashMap<>();   // exp_avg, exp_avg_sq, master
        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (int b = 0; b < m.length; b++) {
                Tensor[][] parts = {gather(b, m[b]), gather(b, v[b]), master[b] == null ? null : gather(b, master[b])};
                for (BucketPlan.Slot slot : plan.buckets().get(b).slots()) {
                    Parameter p = order.get(slot.param());
                    byParam.put(p, new Tensor[] {parts[0][slot.param()], parts[1][slot.param()], parts[2] == null ? null : parts[2][slot.param()]});
                }
            }
            if (comm.rank() != 0) return out;
            for (Parameter p : trainable) {
                Tensor[] t = byParam.remove(p);
                out.put("exp_avg." + p.name(), t[0]);
                out.put("exp_avg_sq." + p.name(), t[1]);
                if (t[2] != null) out.put("master." + p.name(), t[2]);
            }
            if (modelFileType != DType.F32 && valueType == DType.F32) {
                for (Parameter p : trainable) out.put("master." + p.name(), be.downloadF32(p.value()));
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.values().forEach(Tensor::close);
            byParam.values().forEach(ts -> Arrays.stream(ts).filter(java.util.Objects::nonNull).forEach(Tensor::close));
            throw e;
        }
    }

    /** Bucket {@code b}'s shards of {@code state} gathered; on rank 0 per readiness index a host tensor of that parameter's shape (else nulls). */
    private Tensor[] gather(int b, Tensor state) {
        BucketPlan.Bucket bucket = plan.buckets().get(b);
        Tensor[] out = new Tensor[order.size()];
        try (Tensor all = be.empty(DType.F32, state.numel() * comm.size())) {
            comm.allGather(state, all).await();
            if (comm.rank() != 0) return out;
            try (Tensor host = be.download(all)) {
                for (BucketPlan.Slot slot : bucket.slots()) {
                    Tensor t = Tensor.zeros(DType.F32, order.get(slot.param()).value().shape());
                    t.reshape(slot.numel()).copyFrom(host.slice(slot.offset(), slot.offset() + slot.numel()));
                    out[slot.param()] = t;
                }
            }
        }
        return out;
    }

    /**
     * Loads this rank's segments of a checkpoint's state (written in the single-GPU layout by any number
     * of ranks) and every parameter's master weights into its value, as {@code CheckpointState.restore}
     * does for one rank. Not collective: every rank reads the file.
     */
    void restore(Path file, long steps) throws IOException {
        try (TrainingStateFile f = TrainingStateFile.open(file)) {
            Map<String, Tensor> t = f.state().tensors();
            for (int b = 0; b < m.length; b++) {
                for (ShardLayout.Segment seg : segments.get(b)) {
                    Parameter p = order.get(seg.param());
                    load(t, "exp_avg." + p.name(), p, seg, view(m[b], seg), file);
                    load(t, "exp_avg_sq." + p.name(), p, seg, view(v[b], seg), file);
                    if (master[b] != null) {
                        if (!t.containsKey("master." + p.name())) {
                            throw new InvalidInputException(file + ": no master weights for " + p.name() + " (the run was saved by another setup)");
                        }
                        load(t, "master." + p.name(), p, seg, view(master[b], seg), file);
                    }
                }
            }
            for (Parameter p : order) {
                Tensor src = t.get("master." + p.name());
                if (src == null) continue;
                check(src, p, "master." + p.name(), file);
                try (Tensor dev = be.upload(src, p.value().dtype())) {
                    be.copy(dev, p.value());
                }
            }
        }
        this.step = steps;
    }

    private void load(Map<String, Tensor> t, String key, Parameter p, ShardLayout.Segment seg, Tensor dst, Path file) {
        Tensor src = t.get(key);
        if (src == null) throw new InvalidInputException(file + ": the training state has no " + key);
        check(src, p, key, file);
        try (Tensor converted = src.dtype() == DType.F32 ? null : src.to(DType.F32)) {
            Tensor from = converted == null ? src : converted;
            try (Tensor dev = be.upload(from.reshape(from.numel()).slice(seg.from(), seg.to()), DType.F32)) {
                be.copy(dev, dst);
            }
        }
    }

    private static void check(Tensor src, Parameter p, String key, Path file) {
        if (!Arrays.equals(src.shape(), p.value().shape())) {
            throw new InvalidInputException(file + ": " + key + " has shape " + Arrays.toString(src.shape()) + ", the model's is "
                    + Arrays.toString(p.value().shape()));
        }
    }

    @Override
    public void close() {
        for (Tensor[] ts : new Tensor[][] {m, v, master}) {
            for (int b = 0; b < ts.length; b++) {
                if (ts[b] != null) ts[b].close();
                ts[b] = null;
            }
        }
    }
}
