package org.cce4j.trainer.distributed;

import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.Tensor;

/**
 * A communicator that tells {@code before} the number (1, 2, …) of each all-reduce before passing it on:
 * the tests count the trainer's all-reduces with it, or make one rank fail at a chosen one.
 */
final class AllReduceWatch implements Communicator {
    interface Before {
        void allReduce(int number);
    }

    private final Communicator c;
    private final Before before;
    private int calls;

    AllReduceWatch(Communicator c, Before before) {
        this.c = c;
        this.before = before;
    }

    @Override public int rank() { return c.rank(); }
    @Override public int size() { return c.size(); }
    @Override public Work allReduceSum(Tensor t) {
        before.allReduce(++calls);
        return c.allReduceSum(t);
    }
    @Override public Work reduceScatterSum(Tensor in, Tensor out) { return c.reduceScatterSum(in, out); }
    @Override public Work allGather(Tensor in, Tensor out) { return c.allGather(in, out); }
    @Override public Work broadcast(Tensor t, int root) { return c.broadcast(t, root); }
    @Override public void barrier() { c.barrier(); }
    @Override public void close() { c.close(); }
}
