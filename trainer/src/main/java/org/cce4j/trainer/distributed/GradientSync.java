package org.cce4j.trainer.distributed;

import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.TransformerModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One step's gradient all-reduce, bucket by bucket ({@link BucketPlan}). On the rank's last
 * micro-batch the model's backward tells {@link #hook()} of each group of finished gradients; a bucket
 * whose parameters are all final is copied into a flat f32 tensor and its all-reduce queued at once
 * (on a GPU it runs on the communicator's stream while the backward continues). {@link #finish()}
 * queues what is left — everything, on a rank that had no micro-batch in this step (a short last step
 * of an epoch) — waits, and copies the sums back, so that every rank then holds the step's whole
 * gradient, identical on all of them. Buckets are queued in the same order on every rank, as the
 * collective contract needs: a bucket is only queued after the ones before it.
 * <p>
 * A parameter that has no gradient on this rank (it had no micro-batch) counts as zeros; after the sum
 * every trainable parameter has one. The flat buckets are extra memory of one gradient's size while
 * the step's reduction runs (PyTorch DDP's, too, without gradient_as_bucket_view).
 * <p>
 * With ZeRO-1 ({@code scatter}) each bucket is padded to N equal shards ({@link ShardLayout}) and
 * reduce-scattered instead: this rank receives the summed gradients of its shard only, in
 * {@link #shard}, and the parameters' own gradients are left as the backward wrote them.
 */
final class GradientSync implements AutoCloseable {
    private final Backend be;
    private final Communicator comm;
    private final List<Parameter> order;
    private final Map<Parameter, Integer> index = new HashMap<>();
    private final BucketPlan plan;
    private final int[] bucketOf;
    private final boolean[] ready;
    private final Tensor[] flats;
    private final Communicator.Work[] works;
    private final boolean scatter;
    /** With scatter: each bucket's summed gradients of this rank's shard (f32, kept from step to step). */
    private final Tensor[] shards;
    private int nextBucket;

    /** @param model its trainable parameters are reduced, in its {@link TransformerModel#gradientOrder()} */
    GradientSync(Backend be, Communicator comm, TransformerModel model, long capBytes) {
        this(be, comm, model, capBytes, false);
    }

    /** @param scatter reduce-scatter into this rank's shards (ZeRO-1) instead of all-reducing */
    GradientSync(Backend be, Communicator comm, TransformerModel model, long capBytes, boolean scatter) {
        this.be = be;
        this.comm = comm;
        this.scatter = scatter;
        this.order = readinessOrder(model);
        for (int i = 0; i < order.size(); i++) index.put(order.get(i), i);
        long[] numels = order.stream().mapToLong(p -> p.value().numel()).toArray();
        this.plan = BucketPlan.of(numels, capBytes);
        this.bucketOf = plan.bucketOf(order.size());
        this.ready = new boolean[order.size()];
        this.flats = new Tensor[plan.buckets().size()];
        this.works = new Communicator.Work[plan.buckets().size()];
        this.shards = new Tensor[plan.buckets().size()];
        if (scatter) {
            for (int k = 0; k < shards.length; k++) shards[k] = be.zeros(DType.F32, ShardLayout.shardSize(plan.buckets().get(k).numel(), comm.size()));
        }
    }

    /** The trainable parameters, readiness order (the indices of the plan's slots). */
    List<Parameter> order() {
        return order;
    }

    /** With scatter: bucket {@code k}'s summed gradients of this rank's shard, after {@link #finish()}. */
    Tensor shard(int k) {
        return shards[k];
    }

    /** The trainable parameters in the order the backward finishes them. */
    static List<Parameter> readinessOrder(TransformerModel model) {
        List<Parameter> out = new ArrayList<>();
        for (List<Parameter> g : model.gradientOrder()) for (Parameter p : g) if (p.trainable()) out.add(p);
        return out;
    }

    BucketPlan plan() {
        return plan;
    }

    /** What the last micro-batch's backward calls with each group of finished gradients. */
    TransformerModel.GradientsReady hook() {
        return group -> {
            for (Parameter p : group) {
                Integer i = index.get(p);
                if (i != null) ready[i] = true;
            }
            while (nextBucket < flats.length && ready[plan.buckets().get(nextBucket).lastParam()] && allReady(nextBucket)) launch(nextBucket++);
        };
    }

    private boolean allReady(int k) {
        for (BucketPlan.Slot s : plan.buckets().get(k).slots()) if (!ready[s.param()]) return false;
        return true;
    }

    private void launch(int k) {
        BucketPlan.Bucket b = plan.buckets().get(k);
        Tensor flat = be.zeros(DType.F32, scatter ? ShardLayout.shardSize(b.numel(), comm.size()) * comm.size() : b.numel());
        flats[k] = flat;
        for (BucketPlan.Slot s : b.slots()) {
            Tensor g = order.get(s.param()).existingGrad();
            if (g != null) be.copy(g, view(flat, s, g.shape()));
        }
        works[k] = scatter ? comm.reduceScatterSum(flat, shards[k]) : comm.allReduceSum(flat);
    }

    /** Queues the buckets not queued yet, waits for all, and writes the sums into the gradients. */
    void finish() {
        try {
            while (nextBucket < flats.length) launch(nextBucket++);
            for (int k = 0; k < flats.length; k++) {
                works[k].await();
                if (scatter) continue;
                for (BucketPlan.Slot s : plan.buckets().get(k).slots()) {
                    Parameter p = order.get(s.param());
                    Tensor g = p.gradOrNull();
                    be.copy(view(flats[k], s, g.shape()), g);
                }
            }
        } finally {
            reset();
        }
    }

    private void reset() {
        for (int k = 0; k < flats.length; k++) {
            if (flats[k] != null) flats[k].close();
            flats[k] = null;
            works[k] = null;
        }
        java.util.Arrays.fill(ready, false);
        nextBucket = 0;
    }

    @Override
    public void close() {
        reset();
        for (int k = 0; k < shards.length; k++) {
            if (shards[k] != null) shards[k].close();
            shards[k] = null;
        }
    }

    private static Tensor view(Tensor flat, BucketPlan.Slot s, long[] shape) {
        return flat.slice(s.offset(), s.offset() + s.numel()).reshape(shape);
    }
}
