package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.Cudnn;
import org.cce4j.core.cuda.CudnnGraph;
import org.cce4j.core.cuda.CudnnGraph.Ref;
import org.cce4j.core.cuda.CudnnGraph.Type;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Causal attention through cuDNN 9's fused flash-attention engine (Hopper's wgmma and TMA kernels that
 * NVIDIA tunes per GPU), described as cuDNN's backend graph of matmuls, pointwise operations and
 * reductions that the engine recognizes — no cudnn-frontend, no native code of ours. It covers what
 * cuDNN's pattern covers: bf16, causal, grouped-query heads, head sizes up to 256 that are multiples of
 * 8, Gemma 2's softcap (c·tanh(x/c) on the scaled scores, and its derivative in the backward), no sliding
 * window shorter than the sequence, no packed documents, no padding mask; everything else stays on
 * {@link CudaAttention}'s own kernels.
 * <p>
 * Layouts are ours, given to cuDNN as strides: q, out, dq [B·T, H·hd] are (B, H, T, hd) with strides
 * (T·H·hd, hd, H·hd, 1), k, v likewise with the KV heads; the lse [B·T, H] is cuDNN's softmax stats
 * (B, H, T, 1) with strides (T·H, 1, H, 1): the natural log of Σ exp(scale·q·k) per query and head, the
 * same quantity our kernels store, so either backward can follow either forward.
 * <pre>
 *   forward:   S = Q·Kᵀ, S·scale (then c·tanh(S/c) with a softcap c), causal select (index row ≥ column, else the lowest float), row max M,
 *              E = exp(S − M), Z = Σ E, stats = M + log Z, P = E / Z (bf16), O = P·V
 *   backward:  D = Σ dO∘O per row (f32, in our workspace), S as above from the stats: P = exp(S·scale −
 *              stats) causally, dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − D)·scale (times 1 − tanh² with a
 *              softcap), dK = dSᵀ·Q,
 *              dQ = dS·K accumulated in f32 (our workspace) and rounded; with fewer KV heads, dK and dV
 *              are summed over each group of query heads by a reduction
 * </pre>
 * Plans are built once per shape and device (cuDNN compiles its kernels on the first use) and cached. A shape
 * cuDNN refuses is remembered and goes to our kernels ({@link #lastRefusal()} says why).
 */
final class CudnnAttention {
    /** CCE4J_ATTN_CUDNN: auto (cuDNN where it covers the shape and is installed), on (the same, but an error if it cannot), off. */
    enum Mode { AUTO, ON, OFF }

    static Mode modeFromEnv(String v) {
        if (v == null || v.isBlank() || v.equals("auto")) return Mode.AUTO;
        if (v.equals("on") || v.equals("1")) return Mode.ON;
        if (v.equals("off") || v.equals("0")) return Mode.OFF;
        throw new InvalidInputException("CCE4J_ATTN_CUDNN must be auto, on or off, not '" + v + "'");
    }

    /**
     * CCE4J_ATTN_CUDNN_STATS=packed: the stats in cuDNN's own (B, H, T) order instead of our lse layout — for
     * measuring whether the layout costs cuDNN time; our backward cannot then follow cuDNN's forward (nor
     * the other way round), so it is not for training with shapes cuDNN may refuse.
     */
    private static final boolean PACKED_STATS = "packed".equals(System.getenv("CCE4J_ATTN_CUDNN_STATS"));

    private static long[] statsStrides(int b, int h, int t) {
        return PACKED_STATS ? CudnnGraph.packed(b, h, t, 1) : new long[] {(long) t * h, 1, h, 1};
    }

    private record Key(boolean backward, int batch, int seq, int heads, int kvHeads, int hd, int scaleBits, int softcapBits) {}

    private static Key key(boolean backward, AttentionShape s) {
        return new Key(backward, s.batch(), s.seqLen(), s.heads(), s.kvHeads(), s.headDim(), Float.floatToIntBits(s.scale()),
                Float.floatToIntBits(s.softcap()));
    }

    /**
     * A planned graph: the uids of its tensors by name, and the tensors that live in our part of the
     * workspace (after cuDNN's own), by their offset there.
     */
    private record Planned(CudnnGraph graph, Map<String, Long> uids, Map<String, Long> scratch, long scratchBytes) {
        /** Runs the plan with the callers' tensors by name; the workspace and our scratch tensors are allocated here. */
        void execute(CudaDevice device, Map<String, Long> addresses) {
            long ws = align(graph.workspaceBytes());
            try (DeviceBuffer buf = device.buffer(Math.max(16, ws + scratchBytes))) {
                Map<Long, Long> ptr = new HashMap<>();
                addresses.forEach((name, address) -> ptr.put(uids.get(name), address));
                scratch.forEach((name, offset) -> ptr.put(uids.get(name), buf.pointer() + ws + offset));
                graph.execute(ptr, buf.pointer());
            }
        }
    }

    /** A graph being built, with its named non-virtual tensors. */
    private static final class Io {
        final CudnnGraph g;
        final Key key;
        final Map<String, Long> uids = new HashMap<>();
        final Map<String, Long> scratch = new HashMap<>();
        long scratchBytes;

        Io(CudnnGraph g, Key key) {
            this.g = g;
            this.key = key;
        }

        /** bf16 (B, heads, T, hd) over our token-major [B·T, heads·hd]. */
        Ref rows(String name, int heads) {
            return named(name, g.tensor(Type.BF16, new long[] {key.batch, heads, key.seq, key.hd}, tokenMajor(heads)));
        }

        /** The same tensor seen as (B, heads, hd, T): its transpose for a product. */
        Ref columns(String name, int heads) {
            long t = key.seq, hd = key.hd;
            return named(name, g.tensor(Type.BF16, new long[] {key.batch, heads, hd, t}, new long[] {t * heads * hd, hd, 1, heads * hd}));
        }

        long[] tokenMajor(int heads) {
            long t = key.seq, hd = key.hd;
            return new long[] {t * heads * hd, hd, heads * hd, 1};
        }

        /** The softmax stats (B, H, T, 1) over our lse [B·T, H]. */
        Ref stats() {
            return named("stats", g.tensor(Type.F32, new long[] {key.batch, key.heads, key.seq, 1}, statsStrides(key.batch, key.heads, key.seq)));
        }

        /** A packed f32 tensor in our part of the workspace. */
        Ref scratch(String name, long... dims) {
            Ref r = named(name, g.tensor(Type.F32, dims, CudnnGraph.packed(dims)));
            long n = 1;
            for (long d : dims) n *= d;
            scratch.put(name, scratchBytes);
            scratchBytes += align(n * 4);
            return r;
        }

        Ref named(String name, Ref r) {
            uids.put(name, r.uid);
            return r;
        }

        Planned plan() {
            return new Planned(g.plan(), uids, scratch, scratchBytes);
        }
    }

    private final CudaDevice device;
    /**
     * Plans per device (they belong to its one cuDNN handle), shared by every backend on it, so that cuDNN
     * compiles a shape's kernels once per process: a Planned, or the refusal's message.
     */
    private static final Map<Integer, Map<Key, Object>> PLANS = new ConcurrentHashMap<>();
    private static final java.util.concurrent.atomic.AtomicBoolean REFUSAL_SHOWN = new java.util.concurrent.atomic.AtomicBoolean();
    private final Map<Key, Object> plans;
    private volatile String lastRefusal;

    CudnnAttention(CudaDevice device) {
        this.device = device;
        this.plans = PLANS.computeIfAbsent(device.ordinal(), o -> new ConcurrentHashMap<>());
    }

    /** Whether cuDNN's pattern covers the call (the caller checks bf16 and alignment). */
    static boolean covers(AttentionShape s) {
        return (s.window() <= 0 || s.window() >= s.seqLen()) && s.documents() == null && s.keyMask() == null
                && s.headDim() % 8 == 0 && s.headDim() <= 256;
    }

    String lastRefusal() {
        return lastRefusal;
    }

    /** Runs the forward through cuDNN, or returns false when cuDNN refuses this shape (remembered). */
    boolean forward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean required) {
        Planned p = planned(key(false, s), required);
        if (p == null) return false;
        p.execute(device, Map.of("q", q.address(), "k", k.address(), "v", v.address(), "o", out.address(), "stats", lse.address()));
        return true;
    }

    /** Runs the backward through cuDNN (dq, dk, dv overwritten), or returns false when cuDNN refuses this shape. */
    boolean backward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                     Tensor dq, Tensor dk, Tensor dv, boolean required) {
        Planned p = planned(key(true, s), required);
        if (p == null) return false;
        p.execute(device, Map.of("q", q.address(), "k", k.address(), "v", v.address(), "o", out.address(), "stats", lse.address(),
                "do", dOut.address(), "dq", dq.address(), "dk", dk.address(), "dv", dv.address()));
        return true;
    }

    private static long align(long bytes) {
        return (bytes + 255) & ~255L;
    }

    private Planned planned(Key key, boolean required) {
        Object o = plans.get(key);
        if (o == null) {
            synchronized (plans) {
                o = plans.get(key);
                if (o == null) {
                    try {
                        o = key.backward ? backwardGraph(key) : forwardGraph(key);
                    } catch (Cudnn.CudnnException | org.cce4j.core.cuda.CudaUnavailableException e) {
                        o = (key.backward ? "backward" : "forward") + " " + key + ": " + e.getMessage();
                    }
                    plans.put(key, o);
                }
            }
        }
        if (o instanceof Planned p) return p;
        if (required) throw new IllegalStateException("cuDNN attention (CCE4J_ATTN_CUDNN=on) cannot run: " + o);
        if (REFUSAL_SHOWN.compareAndSet(false, true)) {
            // once per process: the run goes on, on our kernels, at their speed
            System.err.println("cce4j: cuDNN's fused attention refused " + o + "; this shape runs on cce4j's attention kernels");
        }
        lastRefusal = (String) o;
        return null;
    }

    // ---- the graphs -------------------------------------------------------------------------------

    /** The causal scores of Q·Kᵀ·scale (from stats − the row's lse in the backward): the shared front of both graphs. */
    private static Ref causal(CudnnGraph g, Ref scores, long b, long h, long t) {
        Ref row = g.pointwise(Cudnn.PW_GEN_INDEX, scores, null, null, g.virtual(Type.I32, b, h, t, t), Type.I32, 2);
        Ref col = g.pointwise(Cudnn.PW_GEN_INDEX, scores, null, null, g.virtual(Type.I32, b, h, t, t), Type.I32, 3);
        Ref visible = g.pointwise(Cudnn.PW_CMP_GE, row, col, null, g.virtual(Type.BOOL, b, h, t, t), Type.BOOL, -1);
        return g.pointwise(Cudnn.PW_BINARY_SELECT, scores, g.scalar(-Float.MAX_VALUE), visible, g.virtual(Type.F32, b, h, t, t),
                Type.F32, -1);
    }

    /** {x/c, c·tanh(x/c)}: Gemma 2's softcap of the scaled scores, and what its derivative needs. */
    private static Ref[] softcap(CudnnGraph g, Ref scaled, float cap, long b, long h, long t) {
        Ref u = g.pointwise(Cudnn.PW_DIV, scaled, g.scalar(cap), g.virtual(Type.F32, b, h, t, t));
        Ref th = g.pointwise(Cudnn.PW_TANH_FWD, u, null, g.virtual(Type.F32, b, h, t, t));
        return new Ref[] {u, g.pointwise(Cudnn.PW_MUL, th, g.scalar(cap), g.virtual(Type.F32, b, h, t, t))};
    }

    private Planned forwardGraph(Key key) {
        int b = key.batch, t = key.seq, h = key.heads, kv = key.kvHeads, hd = key.hd;
        CudnnGraph g = new CudnnGraph(device.cudnn(), "attention forward B" + b + " T" + t + " H" + h + "/" + kv + " hd" + hd);
        try {
            Io io = new Io(g, key);
            Ref q = io.rows("q", h);
            Ref kt = io.columns("k", kv);
            Ref v = io.rows("v", kv);
            Ref o = io.rows("o", h);
            Ref stats = io.stats();
            Ref s = g.matmul(q, kt, g.virtual(Type.F32, b, h, t, t));
            Ref scaled = g.pointwise(Cudnn.PW_MUL, s, g.scalar(Float.intBitsToFloat(key.scaleBits)), g.virtual(Type.F32, b, h, t, t));
            float cap = Float.intBitsToFloat(key.softcapBits);
            if (cap > 0) scaled = softcap(g, scaled, cap, b, h, t)[1];
            Ref masked = causal(g, scaled, b, h, t);
            Ref max = g.reduction(Cudnn.REDUCE_MAX, masked, g.virtual(Type.F32, b, h, t, 1));
            Ref shifted = g.pointwise(Cudnn.PW_SUB, masked, max, g.virtual(Type.F32, b, h, t, t));
            Ref e = g.pointwise(Cudnn.PW_EXP, shifted, null, g.virtual(Type.F32, b, h, t, t));
            Ref z = g.reduction(Cudnn.REDUCE_ADD, e, g.virtual(Type.F32, b, h, t, 1));
            Ref logZ = g.pointwise(Cudnn.PW_LOG, z, null, g.virtual(Type.F32, b, h, t, 1));
            g.pointwise(Cudnn.PW_ADD, max, logZ, stats);
            Ref p = g.pointwise(Cudnn.PW_DIV, e, z, g.virtual(Type.BF16, b, h, t, t));
            g.matmul(p, v, o);
            return io.plan();
        } catch (RuntimeException ex) {
            g.close();
            throw ex;
        }
    }

    private Planned backwardGraph(Key key) {
        int b = key.batch, t = key.seq, h = key.heads, kv = key.kvHeads, hd = key.hd;
        CudnnGraph g = new CudnnGraph(device.cudnn(), "attention backward B" + b + " T" + t + " H" + h + "/" + kv + " hd" + hd);
        try {
            Io io = new Io(g, key);
            Ref q = io.rows("q", h);
            Ref kt = io.columns("k", kv);
            Ref vt = io.columns("v", kv);
            Ref o = io.rows("o", h);
            Ref dO = io.rows("do", h);
            Ref stats = io.stats();
            Ref dq = io.rows("dq", h);
            Ref dk = io.rows("dk", kv);
            Ref dv = io.rows("dv", kv);
            Ref sum = io.scratch("sum", b, h, t, 1);     // D: (B, H, T, 1)
            Ref dqAcc = io.scratch("dqacc", b, h, t, hd); // dQ's f32 accumulator
            float scale = Float.intBitsToFloat(key.scaleBits);
            // D = Σ_d dO∘O per query and head
            Ref dOo = g.pointwise(Cudnn.PW_MUL, dO, o, g.virtual(Type.F32, new long[] {b, h, t, hd},
                    new long[] {(long) h * t * hd, (long) t * hd, (long) h * hd, 1}));
            Ref rowSum = g.reduction(Cudnn.REDUCE_ADD, dOo, g.virtual(Type.F32, b, h, t, 1));
            g.pointwise(Cudnn.PW_MUL, rowSum, g.scalar(1f), sum);
            // P from the stats, causally
            Ref s = g.matmul(q, kt, g.virtual(Type.F32, b, h, t, t));
            Ref scaled = g.pointwise(Cudnn.PW_MUL, s, g.scalar(scale), g.virtual(Type.F32, b, h, t, t));
            float cap = Float.intBitsToFloat(key.softcapBits);
            Ref beforeTanh = null;
            if (cap > 0) {
                Ref[] sc = softcap(g, scaled, cap, b, h, t);
                beforeTanh = sc[0];
                scaled = sc[1];
            }
            Ref shifted = g.pointwise(Cudnn.PW_SUB, scaled, stats, g.virtual(Type.F32, b, h, t, t));
            Ref masked = causal(g, shifted, b, h, t);
            Ref p = g.pointwise(Cudnn.PW_EXP, masked, null, g.virtual(Type.F32, b, h, t, t));
            Ref pT = g.reshape(p, g.virtual(Type.BF16, new long[] {b, h, t, t}, new long[] {(long) h * t * t, (long) t * t, 1, t}));
            // dV = Pᵀ·dO (summed over each KV head's query heads)
            if (h == kv) {
                g.matmul(pT, dO, dv);
            } else {
                Ref full = g.matmul(pT, dO, g.virtual(Type.BF16, b, h, t, hd));
                g.reduction(Cudnn.REDUCE_ADD, full, dv);
            }
            // dS = P∘(dO·Vᵀ − D)·scale
            Ref dP = g.matmul(dO, vt, g.virtual(Type.F32, b, h, t, t));
            Ref dPd = g.pointwise(Cudnn.PW_SUB, dP, sum, g.virtual(Type.F32, b, h, t, t));
            Ref dS0 = g.pointwise(Cudnn.PW_MUL, dPd, p, g.virtual(Type.F32, b, h, t, t));
            if (cap > 0) {
                // d(c·tanh(x/c))/dx = 1 − tanh²(x/c): TANH_BWD of dS·c at x/c, divided by c
                Ref times = g.pointwise(Cudnn.PW_MUL, dS0, g.scalar(cap), g.virtual(Type.F32, b, h, t, t));
                Ref dTanh = g.pointwiseBackward(Cudnn.PW_TANH_BWD, times, beforeTanh, g.virtual(Type.F32, b, h, t, t));
                dS0 = g.pointwise(Cudnn.PW_DIV, dTanh, g.scalar(cap), g.virtual(Type.F32, b, h, t, t));
            }
            Ref dS = g.pointwise(Cudnn.PW_MUL, dS0, g.scalar(scale), g.virtual(Type.F32, b, h, t, t));
            Ref dST = g.reshape(dS, g.virtual(Type.BF16, new long[] {b, h, t, t}, new long[] {(long) h * t * t, (long) t * t, 1, t}));
            // dK = dSᵀ·Q
            if (h == kv) {
                g.matmul(dST, q, dk);
            } else {
                Ref full = g.matmul(dST, q, g.virtual(Type.BF16, b, h, t, hd));
                g.reduction(Cudnn.REDUCE_ADD, full, dk);
            }
            // dQ = dS·K in f32, then rounded into dq
            Ref kRows = g.reshape(kt, g.virtual(Type.BF16, new long[] {b, kv, t, hd}, io.tokenMajor(kv)));
            g.matmul(dS, kRows, dqAcc);
            g.pointwise(Cudnn.PW_IDENTITY, dqAcc, null, dq);
            return io.plan();
        } catch (RuntimeException ex) {
            g.close();
            throw ex;
        }
    }
}
