package org.cce4j.core.dist;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * N ranks as N threads of one JVM, exchanging host tensors: what the data-parallel tests and CPU runs
 * use where NCCL would be used on GPUs.
 * <pre>
 *   HostGroup g = HostGroup.create(4);                 // or create(4, Duration.ofSeconds(5)) in tests
 *   Communicator c = g.rank(i);                        // in thread i; the same object on every call
 *   c.allReduceSum(grads).await();
 * </pre>
 * Each operation is a meeting: every rank leaves its tensors, the last to arrive computes every rank's
 * result (sums in rank order, in the tensor's own type, see {@link HostSums}) while the others wait,
 * so results are the same bits however the threads are scheduled and an operation has completed
 * when it returns ({@link Communicator.Work#await()} does nothing). Nothing can hang: a rank that does
 * not arrive within the timeout (default 300 s), a rank that closed its communicator, ranks that call
 * different operations or sizes, or {@link #abort} fail the group, and every pending and later call of
 * every rank throws a {@link CommunicatorException} naming its operation and the cause.
 */
public final class HostGroup {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    private final int size;
    private final long timeoutNanos;
    private final String timeoutText;
    private final Rank[] ranks;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** The calls of the operation being gathered, by rank (null: not arrived yet). */
    private final Call[] arrivedCalls;
    private int arrived;
    /** Operations completed by the whole group. */
    private long completed;
    private final boolean[] closed;
    /** Why the group failed, or null. */
    private String failure;

    private record Call(Collective op, Tensor in, Tensor out, int root) {
        String describe() {
            String what = op == Collective.BARRIER ? op.label() : op.label() + " of " + in.dtype().shortName() + Shapes.toString(in.shape());
            return op == Collective.BROADCAST ? what + " from root " + root : what;
        }
    }

    private HostGroup(int size, Duration timeout) {
        if (size < 1) throw new IllegalArgumentException("a group needs at least one rank, got " + size);
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        this.size = size;
        this.timeoutNanos = timeout.toNanos();
        this.timeoutText = timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms";
        this.ranks = new Rank[size];
        for (int r = 0; r < size; r++) ranks[r] = new Rank(r);
        this.arrivedCalls = new Call[size];
        this.closed = new boolean[size];
    }

    /** A group of {@code size} ranks whose operations time out after {@link #DEFAULT_TIMEOUT}. */
    public static HostGroup create(int size) {
        return new HostGroup(size, DEFAULT_TIMEOUT);
    }

    /** A group of {@code size} ranks; a rank that waits longer than {@code timeout} for the others fails the group. */
    public static HostGroup create(int size, Duration timeout) {
        return new HostGroup(size, timeout);
    }

    public int size() {
        return size;
    }

    /** The communicator of rank {@code r}, to be used by one thread at a time. */
    public Communicator rank(int r) {
        if (r < 0 || r >= size) throw new IndexOutOfBoundsException("rank " + r + " of a group of " + size);
        return ranks[r];
    }

    /**
     * Fails the group: every pending and later operation of every rank throws, naming {@code reason}
     * (a test or a launcher calls this when one rank's thread died, so that the others stop at once).
     */
    public void abort(String reason) {
        lock.lock();
        try {
            fail(reason);
        } finally {
            lock.unlock();
        }
    }

    private void fail(String reason) {
        if (failure == null) failure = reason;
        changed.signalAll();
    }

    private CommunicatorException failed(int rank, String opName) {
        return new CommunicatorException(opName + " failed on rank " + rank + ": " + failure);
    }

    private void run(int rank, long sequence, Call call) {
        String opName = call.op().nth(sequence);
        lock.lock();
        try {
            if (failure != null) throw failed(rank, opName);
            if (closed[rank]) throw new CommunicatorException(opName + " on rank " + rank + ": its communicator is closed");
            for (int r = 0; r < size; r++) {
                if (closed[r]) {
                    fail("rank " + r + " closed its communicator before " + opName);
                    throw failed(rank, opName);
                }
            }
            String bad = Collective.mismatch(call.op(), call.in(), call.out(), size);
            if (bad == null && call.in() != null && !call.in().device().isCpu()) bad = "a tensor on " + call.in().device() + " (host tensors only)";
            boolean sums = call.op() == Collective.ALL_REDUCE || call.op() == Collective.REDUCE_SCATTER;
            if (bad == null && sums && !HostSums.summable(call.in().dtype())) bad = "sums of " + call.in().dtype().shortName() + " (f32, f64, bf16, f16, i32, i64 only)";
            if (bad == null && call.op() == Collective.BROADCAST && (call.root() < 0 || call.root() >= size)) bad = "root " + call.root() + " is not a rank";
            if (bad != null) {
                fail("rank " + rank + " called " + opName + " with " + bad);
                throw failed(rank, opName);
            }
            arrivedCalls[rank] = call;
            if (++arrived == size) {
                complete(opName, sequence);
                if (failure != null) throw failed(rank, opName);
                return;
            }
            long remaining = timeoutNanos;
            while (completed < sequence && failure == null) {
                if (remaining <= 0) {
                    List<Integer> missing = new ArrayList<>();
                    for (int r = 0; r < size; r++) if (arrivedCalls[r] == null) missing.add(r);
                    fail((missing.size() == 1 ? "rank " + missing.getFirst() : "ranks " + missing) + " did not reach "
                            + opName + " within " + timeoutText);
                    break;
                }
                remaining = changed.awaitNanos(remaining);
            }
            if (completed < sequence) throw failed(rank, opName);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("rank " + rank + " was interrupted during " + opName);
            throw failed(rank, opName);
        } finally {
            lock.unlock();
        }
    }

    /** Run by the last rank to arrive, under the lock: checks that the calls agree, computes, releases the others. */
    private void complete(String opName, long sequence) {
        Call first = arrivedCalls[0];
        for (int r = 1; r < size; r++) {
            Call c = arrivedCalls[r];
            boolean agree = c.op() == first.op() && c.root() == first.root()
                    && (c.in() == null || (c.in().dtype() == first.in().dtype() && c.in().numel() == first.in().numel()));
            if (!agree) {
                fail("ranks disagree at their operation #" + sequence + ": rank 0 called " + first.describe() + ", rank " + r + " " + c.describe());
                return;
            }
        }
        try {
            switch (first.op()) {
                case ALL_REDUCE -> {
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment sum = sumInRankOrder(a);
                        for (Call c : arrivedCalls) MemorySegment.copy(sum, 0, c.in().data(), 0, sum.byteSize());
                    }
                }
                case REDUCE_SCATTER -> {
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment sum = sumInRankOrder(a);
                        long slice = first.out().byteSize();
                        for (int r = 0; r < size; r++) MemorySegment.copy(sum, r * slice, arrivedCalls[r].out().data(), 0, slice);
                    }
                }
                case ALL_GATHER -> {
                    long slice = first.in().byteSize();
                    for (int to = 0; to < size; to++) {
                        for (int from = 0; from < size; from++) {
                            MemorySegment.copy(arrivedCalls[from].in().data(), 0, arrivedCalls[to].out().data(), from * slice, slice);
                        }
                    }
                }
                case BROADCAST -> {
                    MemorySegment src = arrivedCalls[first.root()].in().data();
                    for (int r = 0; r < size; r++) {
                        if (r != first.root()) MemorySegment.copy(src, 0, arrivedCalls[r].in().data(), 0, src.byteSize());
                    }
                }
                case BARRIER, BYTES -> { }
            }
        } catch (RuntimeException e) {
            fail(opName + " could not be computed: " + e);
            return;
        }
        Arrays.fill(arrivedCalls, null);
        arrived = 0;
        completed++;
        changed.signalAll();
    }

    private MemorySegment sumInRankOrder(Arena arena) {
        Tensor in0 = arrivedCalls[0].in();
        DType type = in0.dtype();
        MemorySegment sum = arena.allocate(Math.max(1, in0.byteSize()), 64).asSlice(0, in0.byteSize());
        MemorySegment.copy(in0.data(), 0, sum, 0, in0.byteSize());
        for (int r = 1; r < size; r++) HostSums.addInto(sum, arrivedCalls[r].in().data(), type, in0.numel());
        return sum;
    }

    private static final Communicator.Work DONE = () -> { };

    /** One rank's view of the group. */
    private final class Rank implements Communicator {
        private final int rank;
        private long sequence;

        Rank(int rank) {
            this.rank = rank;
        }

        @Override public int rank() { return rank; }
        @Override public int size() { return size; }

        @Override
        public Work allReduceSum(Tensor t) {
            run(rank, ++sequence, new Call(Collective.ALL_REDUCE, t, null, -1));
            return DONE;
        }

        @Override
        public Work reduceScatterSum(Tensor in, Tensor out) {
            run(rank, ++sequence, new Call(Collective.REDUCE_SCATTER, in, require(out), -1));
            return DONE;
        }

        @Override
        public Work allGather(Tensor in, Tensor out) {
            run(rank, ++sequence, new Call(Collective.ALL_GATHER, in, require(out), -1));
            return DONE;
        }

        @Override
        public Work broadcast(Tensor t, int root) {
            run(rank, ++sequence, new Call(Collective.BROADCAST, t, null, root));
            return DONE;
        }

        @Override
        public void barrier() {
            run(rank, ++sequence, new Call(Collective.BARRIER, null, null, -1));
        }

        private Tensor require(Tensor out) {
            if (out == null) throw new IllegalArgumentException("out must not be null");
            return out;
        }

        /** Leaves the group: a rank still waiting for this one, or calling later, fails. Closing twice is harmless. */
        @Override
        public void close() {
            lock.lock();
            try {
                if (closed[rank]) return;
                closed[rank] = true;
                if (arrived > 0 && arrivedCalls[rank] == null) {
                    long next = completed + 1;
                    for (Call c : arrivedCalls) {
                        if (c != null) {
                            fail("rank " + rank + " closed its communicator before " + c.op().nth(next));
                            break;
                        }
                    }
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public String toString() {
            return "host rank " + rank + " of " + size;
        }
    }

}
