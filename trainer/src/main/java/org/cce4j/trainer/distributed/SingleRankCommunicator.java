package org.cce4j.trainer.distributed;

import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.Tensor;

/**
 * The communicator of a job of one rank: a sum over one rank is the tensor itself, so every collective
 * is a no-op (reduce-scatter and all-gather copy {@code in} to {@code out} when they are different
 * host tensors). The training loop does not call it at all when there is one rank — it keeps the
 * single-GPU code path exactly — but code written against {@link Communicator} may.
 */
public final class SingleRankCommunicator implements Communicator {
    private static final Work DONE = () -> {};

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 1;
    }

    @Override
    public Work allReduceSum(Tensor t) {
        return DONE;
    }

    @Override
    public Work reduceScatterSum(Tensor in, Tensor out) {
        return copy(in, out, "reduceScatterSum");
    }

    @Override
    public Work allGather(Tensor in, Tensor out) {
        return copy(in, out, "allGather");
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        if (root != 0) throw new IllegalArgumentException("broadcast from rank " + root + " in a group of 1");
        return DONE;
    }

    @Override
    public void barrier() {}

    @Override
    public void close() {}

    private static Work copy(Tensor in, Tensor out, String op) {
        if (in.numel() != out.numel()) throw new IllegalArgumentException(op + ": " + in + " into " + out + " (sizes differ)");
        if (in.address() == out.address()) return DONE;
        if (!in.device().isCpu() || !out.device().isCpu()) {
            throw new IllegalStateException(op + " between different device tensors in a group of 1: pass the same tensor");
        }
        out.reshape(in.shape()).copyFrom(in);
        return DONE;
    }
}
