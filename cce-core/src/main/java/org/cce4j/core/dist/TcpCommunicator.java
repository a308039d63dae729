package org.cce4j.core.dist;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * Host tensors across processes over TCP, in a star: every rank sends its part to rank 0, which checks
 * that the calls agree, sums in rank order (as {@link HostGroup} does, so a job gets the same bits in
 * threads or processes), and sends each rank its result. That is N−1 times the traffic of a ring, which
 * is fine for what it is for: CPU runs, tests, and the bootstrap of NCCL ({@link #broadcastBytes}).
 * <pre>
 *   frame: int kind (DATA | ABORT | BYE), long sequence, int operation, int dtype, long elements, int root,
 *          int payload bytes, payload          (ABORT's payload: the reason, UTF-8)
 * </pre>
 * Failures are one line on every live rank: rank 0 names the rank that closed its connection or sent
 * nothing within the operation timeout and sends that reason to the others (ABORT) before it throws; a
 * rank whose connection to rank 0 closes, or that hears nothing for twice the timeout, names rank 0.
 * Operations complete before they return.
 */
public final class TcpCommunicator implements Communicator {
    private static final int MAGIC = 0x43434534; // "CCE4"
    private static final int DATA = 1, ABORT = 2, BYE = 3;

    private final TcpSetup setup;
    private final ServerSocket server;
    /** Rank 0: one connection per other rank (index 0 unused); other ranks: index 0 is the connection to rank 0. */
    private final Peer[] peers;
    private long sequence;
    private String failure;
    private boolean closed;

    private static final class Peer {
        final int rank;
        final Socket socket;
        final DataInputStream in;
        final DataOutputStream out;
        boolean dead;

        Peer(int rank, Socket socket) throws IOException {
            this.rank = rank;
            this.socket = socket;
            socket.setTcpNoDelay(true);
            this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        }
    }

    /** One received frame. */
    private record Frame(int kind, long sequence, int op, int dtype, long elements, int root, byte[] payload) {}

    private TcpCommunicator(TcpSetup setup, ServerSocket server, Peer[] peers) {
        this.setup = setup;
        this.server = server;
        this.peers = peers;
    }

    /**
     * Meets the other ranks: rank 0 listens and waits for all of them, the others connect (retrying
     * until the connect timeout). Throws {@link CommunicatorException} naming who was missing.
     */
    public static TcpCommunicator connect(TcpSetup s) {
        return s.rank() == 0 ? listen(s) : join(s);
    }

    private static TcpCommunicator listen(TcpSetup s) {
        long deadline = System.nanoTime() + s.connectTimeout().toNanos();
        ServerSocket server = null;
        Peer[] peers = new Peer[s.size()];
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(s.masterAddr(), s.masterPort()), s.size());
            for (int joined = 1; joined < s.size(); ) {
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new SocketTimeoutException();
                server.setSoTimeout((int) Math.max(1, left / 1_000_000));
                Socket sock = server.accept();
                sock.setSoTimeout((int) Math.max(1000, Math.min(left / 1_000_000, 10_000)));
                DataInputStream in = new DataInputStream(sock.getInputStream());
                int magic = in.readInt(), rank = in.readInt(), size = in.readInt();
                if (magic != MAGIC || size != s.size() || rank < 1 || rank >= s.size() || peers[rank] != null) {
                    sock.close();
                    throw new CommunicatorException("rank 0: a process at " + sock.getRemoteSocketAddress() + " joined as rank " + rank
                            + " of " + size + (magic != MAGIC ? " (not a cce4j rank)" : peers[rank] != null ? ", which had joined already" : "")
                            + "; expected ranks 1.." + (s.size() - 1) + " of " + s.size());
                }
                peers[rank] = new Peer(rank, sock);
                joined++;
            }
            for (int r = 1; r < s.size(); r++) {
                peers[r].out.writeInt(MAGIC);
                peers[r].out.flush();
            }
            return new TcpCommunicator(s, server, peers);
        } catch (IOException | RuntimeException e) {
            closeQuietly(server);
            for (Peer p : peers) if (p != null) closeQuietly(p.socket);
            if (e instanceof CommunicatorException ce) throw ce;
            StringBuilder missing = new StringBuilder();
            for (int r = 1; r < s.size(); r++) if (peers[r] == null) missing.append(missing.isEmpty() ? "" : ", ").append(r);
            if (e instanceof SocketTimeoutException) {
                throw new CommunicatorException("rank 0: rank(s) " + missing + " did not connect to " + s.masterAddr() + ":" + s.masterPort()
                        + " within " + TcpSetup.text(s.connectTimeout()));
            }
            throw new CommunicatorException("rank 0: cannot listen on " + s.masterAddr() + ":" + s.masterPort() + ": " + e.getMessage(), e);
        }
    }

    private static TcpCommunicator join(TcpSetup s) {
        long deadline = System.nanoTime() + s.connectTimeout().toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            Socket sock = new Socket();
            try {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                sock.connect(new InetSocketAddress(s.masterAddr(), s.masterPort()), (int) Math.min(left, 5_000));
                sock.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                Peer p = new Peer(0, sock);
                p.out.writeInt(MAGIC);
                p.out.writeInt(s.rank());
                p.out.writeInt(s.size());
                p.out.flush();
                if (p.in.readInt() != MAGIC) throw new CommunicatorException("rank " + s.rank() + ": " + s.masterAddr() + ":" + s.masterPort() + " is not a cce4j rank 0");
                Peer[] peers = {p};
                return new TcpCommunicator(s, null, peers);
            } catch (SocketTimeoutException e) {
                closeQuietly(sock);
                throw new CommunicatorException("rank " + s.rank() + ": rank 0 at " + s.masterAddr() + ":" + s.masterPort()
                        + " did not admit it within " + TcpSetup.text(s.connectTimeout()) + " (are all " + s.size() + " ranks started?)");
            } catch (EOFException e) {
                closeQuietly(sock);
                throw new CommunicatorException("rank " + s.rank() + ": rank 0 at " + s.masterAddr() + ":" + s.masterPort() + " refused it (is WORLD_SIZE "
                        + s.size() + " and RANK " + s.rank() + " right, and unique?)");
            } catch (IOException e) {
                closeQuietly(sock);
                last = e;
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        throw new CommunicatorException("rank " + s.rank() + ": cannot reach rank 0 at " + s.masterAddr() + ":" + s.masterPort() + " within "
                + TcpSetup.text(s.connectTimeout()) + (last == null ? "" : " (" + last.getMessage() + ")"));
    }

    @Override public int rank() { return setup.rank(); }
    @Override public int size() { return setup.size(); }

    private static final Work DONE = () -> { };

    @Override
    public Work allReduceSum(Tensor t) {
        run(Collective.ALL_REDUCE, t, null, 0, null);
        return DONE;
    }

    @Override
    public Work reduceScatterSum(Tensor in, Tensor out) {
        run(Collective.REDUCE_SCATTER, in, out, 0, null);
        return DONE;
    }

    @Override
    public Work allGather(Tensor in, Tensor out) {
        run(Collective.ALL_GATHER, in, out, 0, null);
        return DONE;
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        run(Collective.BROADCAST, t, null, root, null);
        return DONE;
    }

    @Override
    public void barrier() {
        run(Collective.BARRIER, null, null, 0, null);
    }

    /**
     * Rank 0's {@code bytes} on every rank (the others pass null): how NCCL's unique id reaches the ranks.
     * @return the bytes rank 0 gave
     */
    public byte[] broadcastBytes(byte[] bytes) {
        if (rank() == 0 && bytes == null) throw new IllegalArgumentException("rank 0 must give the bytes to broadcast");
        return run(Collective.BYTES, null, null, 0, rank() == 0 ? bytes : new byte[0]);
    }

    // ---- one operation ----------------------------------------------------------------------

    private synchronized byte[] run(Collective op, Tensor in, Tensor out, int root, byte[] bytes) {
        long seq = ++sequence;
        String name = op.nth(seq);
        if (closed) throw new CommunicatorException(name + " on rank " + rank() + ": the communicator is closed");
        if (failure != null) throw new CommunicatorException(name + " failed on rank " + rank() + ": the group failed earlier: " + failure);
        String bad = Collective.mismatch(op, in, out, size());
        if (bad == null && in != null && !in.device().isCpu()) bad = "a tensor on " + in.device() + " (host tensors only)";
        if (bad == null && (op == Collective.ALL_REDUCE || op == Collective.REDUCE_SCATTER) && !HostSums.summable(in.dtype())) {
            bad = "sums of " + in.dtype().shortName() + " (f32, f64, bf16, f16, i32, i64 only)";
        }
        if (bad == null && op == Collective.BROADCAST && (root < 0 || root >= size())) bad = "root " + root + " is not a rank";
        if (bad != null) {
            // a wrong call fails the job at once, rather than leaving the others to time out
            String reason = "rank " + rank() + " called " + name + " with " + bad;
            if (rank() == 0 || size() == 1) throw size() == 1 ? failed(name, reason) : abortAll(name, reason);
            try {
                send(peers[0], ABORT, seq, op, -1, 0, 0, reason.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // rank 0 is gone: the others learn of it from their own connections
            }
            throw failed(name, reason);
        }
        byte[] mine = op == Collective.BYTES ? bytes
                : op == Collective.BARRIER || (op == Collective.BROADCAST && rank() != root) ? new byte[0]
                : in.data().toArray(ValueLayout.JAVA_BYTE);
        int dtype = in == null ? -1 : in.dtype().ordinal();
        long elements = in == null ? 0 : in.numel();
        if (size() == 1) {
            deliver(op, in, out, mine, mine);
            return mine;
        }
        return rank() == 0 ? coordinate(op, name, seq, in, out, root, dtype, elements, mine) : participate(op, name, seq, in, out, root, dtype, elements, mine);
    }

    private byte[] participate(Collective op, String name, long seq, Tensor in, Tensor out, int root, int dtype, long elements, byte[] mine) {
        Peer zero = peers[0];
        try {
            send(zero, DATA, seq, op, dtype, elements, root, mine);
        } catch (IOException e) {
            // rank 0 may have written why before it closed: read that first
        }
        Frame f;
        try {
            zero.socket.setSoTimeout(timeoutMillis(2));
            f = read(zero);
        } catch (SocketTimeoutException e) {
            throw failed(name, "rank 0 sent nothing for " + TcpSetup.text(setup.operationTimeout().multipliedBy(2)) + " during " + name);
        } catch (IOException e) {
            throw failed(name, "rank 0 closed its connection during " + name);
        }
        if (f.kind() == ABORT) throw failed(name, new String(f.payload(), StandardCharsets.UTF_8));
        if (f.kind() != DATA || f.sequence() != seq) throw failed(name, "rank 0 answered out of order (frame " + f.kind() + " #" + f.sequence() + ")");
        deliver(op, in, out, f.payload(), f.payload());
        return f.payload();
    }

    private byte[] coordinate(Collective op, String name, long seq, Tensor in, Tensor out, int root, int dtype, long elements, byte[] mine) {
        byte[][] parts = new byte[size()][];
        parts[0] = mine;
        long deadline = System.nanoTime() + setup.operationTimeout().toNanos();
        for (int r = 1; r < size(); r++) {
            Peer p = peers[r];
            Frame f;
            try {
                p.socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                f = read(p);
            } catch (SocketTimeoutException e) {
                throw abortAll(name, "rank " + r + " sent nothing for " + TcpSetup.text(setup.operationTimeout()) + " during " + name);
            } catch (IOException e) {
                p.dead = true;
                throw abortAll(name, "rank " + r + " closed its connection during " + name);
            }
            if (f.kind() == ABORT) {
                throw abortAll(name, new String(f.payload(), StandardCharsets.UTF_8));
            }
            if (f.kind() == BYE) {
                p.dead = true;
                throw abortAll(name, "rank " + r + " closed its communicator before " + name);
            }
            if (f.kind() != DATA || f.sequence() != seq || f.op() != op.ordinal() || f.dtype() != dtype || f.elements() != elements || f.root() != root) {
                throw abortAll(name, "ranks disagree at their operation #" + seq + ": rank 0 called " + describe(op.ordinal(), dtype, elements, root)
                        + ", rank " + r + " " + (f.sequence() != seq ? "its operation #" + f.sequence() + ", " : "") + describe(f.op(), f.dtype(), f.elements(), f.root()));
            }
            parts[r] = f.payload();
        }
        byte[] result;
        switch (op) {
            case ALL_REDUCE, REDUCE_SCATTER -> {
                MemorySegment sum = MemorySegment.ofArray(parts[0].clone());
                for (int r = 1; r < size(); r++) HostSums.addInto(sum, MemorySegment.ofArray(parts[r]), in.dtype(), elements);
                result = sum.toArray(ValueLayout.JAVA_BYTE);
            }
            case ALL_GATHER -> {
                result = new byte[parts[0].length * size()];
                for (int r = 0; r < size(); r++) System.arraycopy(parts[r], 0, result, r * parts[0].length, parts[0].length);
            }
            case BROADCAST -> result = parts[root];
            default -> result = mine;
        }
        for (int r = 1; r < size(); r++) {
            byte[] reply = result;
            if (op == Collective.REDUCE_SCATTER) {
                int slice = result.length / size();
                reply = Arrays.copyOfRange(result, r * slice, (r + 1) * slice);
            }
            try {
                send(peers[r], DATA, seq, op, dtype, elements, root, reply);
            } catch (IOException e) {
                peers[r].dead = true;
                throw abortAll(name, "rank " + r + " closed its connection during " + name);
            }
        }
        deliver(op, in, out, result, mine);
        return result;
    }

    /** Writes a result into this rank's tensors. */
    private void deliver(Collective op, Tensor in, Tensor out, byte[] result, byte[] mine) {
        switch (op) {
            case ALL_REDUCE, BROADCAST -> MemorySegment.copy(MemorySegment.ofArray(result), 0, in.data(), 0, in.byteSize());
            case REDUCE_SCATTER -> {
                long slice = out.byteSize();
                long from = result.length == slice ? 0 : rank() * slice;
                MemorySegment.copy(MemorySegment.ofArray(result), from, out.data(), 0, slice);
            }
            case ALL_GATHER -> MemorySegment.copy(MemorySegment.ofArray(result), 0, out.data(), 0, out.byteSize());
            default -> { }
        }
    }

    private static String describe(int op, int dtype, long elements, int root) {
        Collective c = op >= 0 && op < Collective.values().length ? Collective.values()[op] : null;
        if (c == null) return "operation " + op;
        if (c == Collective.BARRIER || c == Collective.BYTES) return c.label();
        String what = c.label() + " of " + (dtype >= 0 && dtype < DType.values().length ? DType.values()[dtype].shortName() : "?")
                + Shapes.toString(new long[] {elements});
        return c == Collective.BROADCAST ? what + " from root " + root : what;
    }

    private int timeoutMillis(int times) {
        return (int) Math.min(Integer.MAX_VALUE, setup.operationTimeout().multipliedBy(times).toMillis());
    }

    private CommunicatorException failed(String name, String reason) {
        failure = reason;
        return new CommunicatorException(name + " failed on rank " + rank() + ": " + reason);
    }

    /** Rank 0: records the failure, tells every live rank why, and half-closes (so that they read the reason before the end). */
    private CommunicatorException abortAll(String name, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        for (int r = 1; r < size(); r++) {
            Peer p = peers[r];
            if (p.dead) continue;
            try {
                send(p, ABORT, 0, Collective.BARRIER, -1, 0, 0, text);
                p.socket.shutdownOutput();
            } catch (IOException ignored) {
                p.dead = true;
            }
        }
        return failed(name, reason);
    }

    private static void send(Peer p, int kind, long seq, Collective op, int dtype, long elements, int root, byte[] payload) throws IOException {
        DataOutputStream o = p.out;
        o.writeInt(kind);
        o.writeLong(seq);
        o.writeInt(op.ordinal());
        o.writeInt(dtype);
        o.writeLong(elements);
        o.writeInt(root);
        o.writeInt(payload.length);
        o.write(payload);
        o.flush();
    }

    private static Frame read(Peer p) throws IOException {
        DataInputStream i = p.in;
        int kind = i.readInt();
        long seq = i.readLong();
        int op = i.readInt(), dtype = i.readInt();
        long elements = i.readLong();
        int root = i.readInt(), length = i.readInt();
        if (length < 0) throw new SocketException("a corrupt frame (length " + length + ")");
        byte[] payload = new byte[length];
        i.readFully(payload);
        return new Frame(kind, seq, op, dtype, elements, root, payload);
    }

    /**
     * Leaves the job: a rank tells rank 0 (which then fails a later operation of the others by name);
     * rank 0 closes every connection. Closing twice is harmless.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (rank() != 0 && failure == null) {
            try {
                send(peers[0], BYE, sequence + 1, Collective.BARRIER, -1, 0, 0, new byte[0]);
            } catch (IOException ignored) {
                // rank 0 is gone already
            }
        }
        for (Peer p : peers) if (p != null) closeQuietly(p.socket);
        closeQuietly(server);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // closing after a failure
        }
    }

    @Override
    public String toString() {
        return "tcp rank " + rank() + " of " + size() + " (" + setup.masterAddr() + ":" + setup.masterPort() + ")";
    }

    /** The operation timeout, for callers that wait on something else in step with the ranks. */
    public Duration operationTimeout() {
        return setup.operationTimeout();
    }
}
