package org.cce4j.trainer.distributed;

import org.cce4j.core.dist.Communicator;
import org.cce4j.core.dist.CommunicatorException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * N ranks as threads of one JVM over host tensors (f32, f64; broadcast and all-gather of any dtype):
 * the tests' communicator, until cce-core's in-process one replaces it. Every operation is two
 * phases of one barrier — all ranks deposit their tensor, each computes its result from all of them,
 * all ranks pass again before anyone may overwrite its input — and sums in rank order, in the
 * tensor's own precision, as a ring of one chunk would. A rank that closes its communicator while
 * others still wait (it threw), a mismatched operation, or a wait past the timeout fails every rank
 * with a CommunicatorException naming the operation: never a hang.
 */
final class ThreadGroupCommunicator implements Communicator {
    private static final Work DONE = () -> {};

    /** What the ranks share. */
    private static final class Group {
        final int size;
        final long timeoutMs;
        final Tensor[] deposits;
        final String[] ops;
        int arrived, generation, closed;
        String failure;

        Group(int size, long timeoutMs) {
            this.size = size;
            this.timeoutMs = timeoutMs;
            this.deposits = new Tensor[size];
            this.ops = new String[size];
        }

        synchronized void await(int rank, String op) {
            if (failure != null) throw new CommunicatorException(op + " on rank " + rank + ": " + failure);
            if (closed > 0) throw new CommunicatorException(op + " on rank " + rank + ": another rank closed its communicator");
            int gen = generation;
            if (++arrived == size) {
                arrived = 0;
                generation++;
                notifyAll();
                return;
            }
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (gen == generation) {
                if (failure != null) throw new CommunicatorException(op + " on rank " + rank + ": " + failure);
                if (closed > 0) {
                    failure = "a rank closed its communicator while rank " + rank + " waited in " + op;
                    notifyAll();
                    throw new CommunicatorException(op + " on rank " + rank + ": " + failure);
                }
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    failure = "timed out after " + timeoutMs + " ms in " + op + " (rank " + rank + " waited)";
                    notifyAll();
                    throw new CommunicatorException(op + " on rank " + rank + ": " + failure);
                }
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failure = "rank " + rank + " was interrupted in " + op;
                    notifyAll();
                    throw new CommunicatorException(failure, e);
                }
            }
        }

        synchronized void close() {
            closed++;
            notifyAll();
        }
    }

    private final Group g;
    private final int rank;

    private ThreadGroupCommunicator(Group g, int rank) {
        this.g = g;
        this.rank = rank;
    }

    /** The communicators of a group of {@code n} ranks, rank order. */
    static List<Communicator> group(int n) {
        return group(n, 120_000);
    }

    static List<Communicator> group(int n, long timeoutMs) {
        Group g = new Group(n, timeoutMs);
        List<Communicator> out = new ArrayList<>();
        for (int r = 0; r < n; r++) out.add(new ThreadGroupCommunicator(g, r));
        return out;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return g.size;
    }

    /** Phase one: every rank's tensor deposited, the operations compared. */
    private void deposit(String op, Tensor t) {
        if (!t.device().isCpu()) throw new IllegalArgumentException(op + ": host tensors only, got " + t);
        g.deposits[rank] = t;
        g.ops[rank] = op + " " + t.dtype() + " " + t.numel();
        g.await(rank, op);
        for (int r = 0; r < g.size; r++) {
            if (!g.ops[r].equals(g.ops[rank])) {
                throw new CommunicatorException(op + " on rank " + rank + ": rank " + r + " called " + g.ops[r] + ", this rank " + g.ops[rank]);
            }
        }
    }

    private double sum(long i, long offset) {
        double s = 0;
        if (g.deposits[0].dtype() == DType.F32) {
            float f = 0f;
            for (Tensor d : g.deposits) f += d.getFloat(offset + i);
            return f;
        }
        for (Tensor d : g.deposits) s += d.getDouble(offset + i);
        return s;
    }

    @Override
    public Work allReduceSum(Tensor t) {
        requireFloat("allReduceSum", t);
        deposit("allReduceSum", t);
        double[] out = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) out[i] = sum(i, 0);
        g.await(rank, "allReduceSum");
        for (int i = 0; i < out.length; i++) t.setDouble(i, out[i]);
        g.await(rank, "allReduceSum");
        return DONE;
    }

    @Override
    public Work reduceScatterSum(Tensor in, Tensor out) {
        requireFloat("reduceScatterSum", in);
        if (in.numel() != out.numel() * g.size) throw new IllegalArgumentException("reduceScatterSum: " + in + " into " + out);
        deposit("reduceScatterSum", in);
        long n = out.numel();
        for (long i = 0; i < n; i++) out.setDouble(i, sum(i, rank * n));
        g.await(rank, "reduceScatterSum");
        return DONE;
    }

    @Override
    public Work allGather(Tensor in, Tensor out) {
        if (out.numel() != in.numel() * g.size) throw new IllegalArgumentException("allGather: " + in + " into " + out);
        deposit("allGather", in);
        long bytes = in.byteSize();
        for (int r = 0; r < g.size; r++) MemorySegment.copy(g.deposits[r].data(), 0, out.data(), r * bytes, bytes);
        g.await(rank, "allGather");
        return DONE;
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        deposit("broadcast", t);
        if (rank != root) MemorySegment.copy(g.deposits[root].data(), 0, t.data(), 0, t.byteSize());
        g.await(rank, "broadcast");
        return DONE;
    }

    @Override
    public void barrier() {
        g.await(rank, "barrier");
    }

    @Override
    public void close() {
        g.close();
    }

    private static void requireFloat(String op, Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.F64) throw new IllegalArgumentException(op + ": f32 or f64, got " + t);
    }
}
