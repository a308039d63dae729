package org.cce4j.core.device;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaException;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.cuda.Nccl;
import org.cce4j.core.cuda.SideStream;
import org.cce4j.core.dist.Collective;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.dist.CommunicatorException;
import org.cce4j.core.dist.Rendezvous;
import org.cce4j.core.dist.TcpSetup;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@link Communicator} of one GPU: NCCL collectives on a stream of their own beside the device's
 * compute stream, ordered by events, so that communication overlaps computation.
 * <pre>
 *   op:     side.waitForCompute()  →  ncclAllReduce(..., side)  →  marker m        (returns at once)
 *   await:  m.makeComputeWait()                                                  (the host does not wait)
 * </pre>
 * NCCL itself never times out: a rank that died leaves the others' kernels spinning. A watchdog thread
 * therefore polls every outstanding operation's marker and the communicator's asynchronous error; an
 * error, or an operation not complete within the timeout (default 300 s), aborts the communicator
 * (ncclCommAbort, which ends the spinning kernels) and the next call of any method throws a
 * {@link CommunicatorException} naming the operation. Results of operations that were aborted are
 * garbage, which is why every later call fails. Tensors must stay allocated until their operation's
 * {@link Work#await()} has been called (the caching allocator may hand their memory to compute-stream
 * work queued after it). Construction blocks until all ranks have joined, within the timeout.
 */
public final class NcclCommunicator implements Communicator {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);
    private static final long POLL_MILLIS = 20;

    private final Nccl nccl;
    private final CudaDevice device;
    private final int rank, size;
    private final long timeoutNanos;
    private final MemorySegment comm;
    private final SideStream side;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final Thread watchdog;
    private long sequence;
    private volatile String failure;
    private boolean aborted, closed;
    /** One int32 on the device: what barrier() all-reduces. */
    private DeviceBuffer barrierWord;

    private record Pending(String name, SideStream.Marker marker, long deadline) {}

    private NcclCommunicator(Nccl nccl, CudaDevice device, int rank, int size, MemorySegment comm, Duration timeout) {
        this.nccl = nccl;
        this.device = device;
        this.rank = rank;
        this.size = size;
        this.comm = comm;
        this.timeoutNanos = timeout.toNanos();
        this.side = device.createSideStream();
        this.watchdog = Thread.ofPlatform().daemon().name("nccl-watchdog-rank-" + rank).start(this::watch);
    }

    /** A fresh NCCL unique id (rank 0 makes it and hands it to the others, see {@link #connect}). */
    public static byte[] newUniqueId() {
        return Nccl.get().uniqueId();
    }

    /**
     * Rank {@code rank} of {@code size} on {@code device}, joining the ranks that got the same
     * {@code uniqueId}; throws {@link CommunicatorException} if they have not all joined within {@code timeout}.
     */
    public static NcclCommunicator create(CudaDevice device, int rank, int size, byte[] uniqueId, Duration timeout) {
        Nccl nccl = Nccl.get();
        if (rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " is outside [0, " + size + ")");
        // ncclCommInitRank blocks until every rank has called it and cannot be interrupted:
        // it runs on a daemon thread, and a missing rank becomes an exception here rather than a hang
        CompletableFuture<MemorySegment> init = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("nccl-init-rank-" + rank).start(() -> {
            try {
                device.enter();
                init.complete(nccl.commInitRank(size, uniqueId, rank));
            } catch (Throwable t) {
                init.completeExceptionally(t);
            }
        });
        MemorySegment comm;
        try {
            comm = init.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new CommunicatorException("rank " + rank + ": ncclCommInitRank did not complete within " + text(timeout)
                    + " (not all " + size + " ranks joined)");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new CommunicatorException("rank " + rank + ": " + c.getMessage(), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommunicatorException("rank " + rank + ": interrupted while joining the NCCL communicator");
        }
        return new NcclCommunicator(nccl, device, rank, size, comm, timeout);
    }

    /**
     * The usual start of a multi-process job: the ranks meet over TCP ({@code setup}, e.g.
     * {@link TcpSetup#fromEnvironment()}), rank 0 makes the unique id and sends it, and every rank
     * joins the NCCL communicator on {@code device}, with the setup's operation timeout.
     */
    public static NcclCommunicator connect(CudaDevice device, TcpSetup setup) {
        Nccl nccl = Nccl.get();
        byte[] id = Rendezvous.exchange(setup, nccl::uniqueId);
        return create(device, setup.rank(), setup.size(), id, setup.operationTimeout());
    }

    @Override public int rank() { return rank; }
    @Override public int size() { return size; }

    public CudaDevice device() {
        return device;
    }

    // ---- operations -------------------------------------------------------------------------

    @Override
    public Work allReduceSum(Tensor t) {
        return enqueue(Collective.ALL_REDUCE, t, null, () -> nccl.allReduceSum(t.address(), t.address(), t.numel(), t.dtype(), comm, side.handle()));
    }

    @Override
    public Work reduceScatterSum(Tensor in, Tensor out) {
        return enqueue(Collective.REDUCE_SCATTER, in, out,
                () -> nccl.reduceScatterSum(in.address(), out.address(), out.numel(), in.dtype(), comm, side.handle()));
    }

    @Override
    public Work allGather(Tensor in, Tensor out) {
        return enqueue(Collective.ALL_GATHER, in, out, () -> nccl.allGather(in.address(), out.address(), in.numel(), in.dtype(), comm, side.handle()));
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        if (root < 0 || root >= size) throw new IllegalArgumentException("broadcast root " + root + " is outside [0, " + size + ")");
        return enqueue(Collective.BROADCAST, t, null, () -> nccl.broadcast(t.address(), t.address(), t.numel(), t.dtype(), root, comm, side.handle()));
    }

    /** An all-reduce of one int32, waited for on the host (polling, so that the timeout holds). */
    @Override
    public void barrier() {
        String name;
        SideStream.Marker m;
        synchronized (this) {
            name = Collective.BARRIER.nth(sequence + 1);
            requireAlive(name);
            if (barrierWord == null) barrierWord = device.buffer(4);
            sequence++;
            m = launch(name, () -> nccl.allReduceSum(barrierWord.pointer(), barrierWord.pointer(), 1, DType.I32, comm, side.handle()));
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            synchronized (this) {
                requireAlive(name);
                if (markerDone(name, m)) return;
            }
            if (System.nanoTime() > deadline) {
                synchronized (this) {
                    fail(name + " did not complete within " + text(Duration.ofNanos(timeoutNanos)) + " (a rank is missing or stalled)");
                    requireAlive(name);
                }
            }
            sleep();
        }
    }

    private interface Call {
        void run();
    }

    private synchronized Work enqueue(Collective op, Tensor in, Tensor out, Call call) {
        String name = op.nth(sequence + 1);
        requireAlive(name);
        String bad = Collective.mismatch(op, in, out, size);
        Device here = device.device();
        if (bad == null && !in.device().equals(here)) bad = "a tensor on " + in.device() + " (this communicator is on " + here + ")";
        if (bad == null) {
            try {
                Nccl.dataType(in.dtype());
            } catch (IllegalArgumentException e) {
                bad = e.getMessage();
            }
        }
        if (bad != null) throw new IllegalArgumentException(name + " on rank " + rank + ": " + bad);
        sequence++;
        SideStream.Marker m = launch(name, call);
        return () -> awaitMarker(name, m);
    }

    /** Orders the NCCL call after the compute stream's work, queues it and a marker; a failure aborts. */
    private SideStream.Marker launch(String name, Call call) {
        try {
            side.waitForCompute();
            call.run();
            SideStream.Marker m = side.record();
            pending.add(new Pending(name, m, System.nanoTime() + timeoutNanos));
            notifyAll();
            return m;
        } catch (CudaException e) {
            fail(name + ": " + e.getMessage());
            throw failed(name);
        }
    }

    private void awaitMarker(String name, SideStream.Marker m) {
        synchronized (this) {
            requireAlive(name);
            if (m.isClosed()) return; // the watchdog saw it complete and freed its event
            try {
                m.makeComputeWait();
            } catch (CudaException e) {
                fail(name + ": " + e.getMessage());
                throw failed(name);
            }
        }
    }

    private boolean markerDone(String name, SideStream.Marker m) {
        if (m.isClosed()) return true;
        try {
            return m.done();
        } catch (CudaException e) {
            fail(name + ": " + e.getMessage());
            throw failed(name);
        }
    }

    // ---- failures ---------------------------------------------------------------------------

    private void requireAlive(String name) {
        if (closed) throw new CommunicatorException(name + " on rank " + rank + ": the communicator is closed");
        if (failure != null) throw failed(name);
    }

    private CommunicatorException failed(String name) {
        return new CommunicatorException(name + " failed on rank " + rank + ": " + failure);
    }

    /** Records the first failure and aborts the communicator (under this object's lock). */
    private void fail(String reason) {
        if (failure == null) failure = reason;
        if (!aborted) {
            aborted = true;
            nccl.abort(comm);
        }
        notifyAll();
    }

    /** The watchdog: completed operations are forgotten; an asynchronous error or an overdue one aborts. */
    private void watch() {
        try {
            device.enter();
        } catch (RuntimeException e) {
            return;
        }
        while (true) {
            synchronized (this) {
                while (pending.isEmpty() && !closed && failure == null) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed || failure != null) return;
                check();
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One look at the outstanding operations (under the lock). */
    private void check() {
        try {
            int async = nccl.asyncError(comm);
            if (async != 0 && async != Nccl.IN_PROGRESS) {
                String op = pending.isEmpty() ? "an operation" : pending.peekFirst().name();
                fail("NCCL reported " + nccl.explain(async, comm) + " during " + op);
                return;
            }
            while (!pending.isEmpty()) {
                Pending p = pending.peekFirst();
                if (p.marker().done()) {
                    pending.pollFirst().marker().close();
                } else {
                    if (System.nanoTime() > p.deadline()) {
                        fail(p.name() + " did not complete within " + text(Duration.ofNanos(timeoutNanos)) + " (a rank is missing or stalled)");
                    }
                    return;
                }
            }
        } catch (CudaException e) {
            String op = pending.isEmpty() ? "an operation" : pending.peekFirst().name();
            fail(op + ": " + e.getMessage());
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommunicatorException("interrupted while waiting for an NCCL operation");
        }
    }

    /**
     * Waits (within the timeout) for the outstanding operations and frees the communicator; after a
     * failure or a timeout it aborts instead. Closing twice is harmless.
     */
    @Override
    public void close() {
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            synchronized (this) {
                if (closed) return;
                if (failure == null) check();
                if (failure != null || pending.isEmpty()) break;
                if (System.nanoTime() > deadline) {
                    fail("closing: " + pending.peekFirst().name() + " did not complete within " + text(Duration.ofNanos(timeoutNanos)));
                    break;
                }
            }
            sleep();
        }
        synchronized (this) {
            closed = true;
            notifyAll();
            try {
                if (!aborted) {
                    side.synchronize();
                    nccl.destroy(comm);
                }
            } finally {
                for (Pending p : pending) p.marker().close();
                pending.clear();
                if (barrierWord != null) barrierWord.close();
                side.close();
            }
        }
        watchdog.interrupt();
    }

    private static String text(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    @Override
    public String toString() {
        return "NCCL rank " + rank + " of " + size + " on " + device.device();
    }
}
