package org.cce4j.examples;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Activation;
import org.cce4j.transformer.backend.AdamWStep;
import org.cce4j.transformer.backend.AttentionShape;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.DecodeShape;
import org.cce4j.transformer.backend.RopeTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The profile of ModelBenchmark: a CUDA backend wrapped so that every operation is bracketed by two CUDA
 * events on the device's stream, nothing synchronized: the step runs as it does unprofiled (the host
 * queues ahead of the device), and after it {@link #collect} reads each operation's device time from
 * its events. What the device spends between one operation's end and the next one's start is idle time,
 * waiting for the host: the step's host gaps, reported apart. A per-operation table comparable to the
 * PyTorch profiler's device times.
 */
final class TimedBackend implements Backend {
    final Backend be;
    final CudaDevice dev;
    final Map<String, double[]> times = new TreeMap<>();
    private final List<CudaDevice.Event> events = new ArrayList<>();
    private final List<String> recorded = new ArrayList<>();
    private int used;

    TimedBackend(Backend be, CudaDevice dev) {
        this.be = be;
        this.dev = dev;
    }

    /** Off: every operation passes straight through, unsynchronized. */
    volatile boolean enabled;

    private CudaDevice.Event nextEvent() {
        if (used == events.size()) events.add(dev.event());
        return events.get(used++);
    }

    private void timed(String op, Runnable r) {
        if (!enabled) {
            r.run();
            return;
        }
        nextEvent().record();
        r.run();
        nextEvent().record();
        recorded.add(op);
    }

    /**
     * What {@link #collect} read: the device time of the operations, the idle time between them (ms), and
     * that idle time by the operation it preceded (ms, gaps): where the device waited for the host.
     */
    record Span(double opsMs, double idleMs, Map<String, double[]> idleBefore) {}

    /**
     * After the profiled step has been synchronized: each recorded operation's device time added to
     * {@link #times} (ms, calls), and the device's idle time between the first operation's start and the
     * last one's end. The events are kept for the next step.
     */
    Span collect() {
        double ops = 0, span = 0;
        Map<String, double[]> idleBefore = new TreeMap<>();
        for (int i = 0; i < recorded.size(); i++) {
            double ms = events.get(2 * i + 1).millisSince(events.get(2 * i));
            double[] t = times.computeIfAbsent(recorded.get(i), k -> new double[2]);
            t[0] += ms;
            t[1]++;
            ops += ms;
            if (i > 0) {
                double gap = events.get(2 * i).millisSince(events.get(2 * i - 1));
                if (gap > 0.005) {   // under 5 µs: the events' own spacing, not waiting
                    double[] g = idleBefore.computeIfAbsent(recorded.get(i), k -> new double[2]);
                    g[0] += gap;
                    g[1]++;
                }
            }
        }
        if (!recorded.isEmpty()) span = events.get(2 * recorded.size() - 1).millisSince(events.get(0));
        recorded.clear();
        used = 0;
        return new Span(ops, span - ops, idleBefore);
    }

    private static String shape(Tensor x, Tensor w) {
        return x.dim(-1) + "x" + w.dim(0);
    }

    @Override public Device device() { return be.device(); }
    @Override public DType computeDType() { return be.computeDType(); }
    @Override public Tensor zeros(DType dtype, long... shape) {
        Tensor[] out = new Tensor[1];
        timed("zeros", () -> out[0] = be.zeros(dtype, shape));
        return out[0];
    }
    @Override public Tensor empty(DType dtype, long... shape) { return be.empty(dtype, shape); }
    @Override public Tensor upload(Tensor host, DType dtype) { return be.upload(host, dtype); }
    @Override public Tensor downloadF32(Tensor t) { return be.downloadF32(t); }
    @Override public void linear(Tensor x, Tensor w, Tensor b, Tensor y) { timed("linear " + shape(x, w), () -> be.linear(x, w, b, y)); }
    @Override public void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean acc, Tensor dw, Tensor db) {
        timed("linearBackward " + shape(x, w), () -> be.linearBackward(dy, x, w, dx, acc, dw, db));
    }
    @Override public void rmsNorm(Tensor x, Tensor w, float eps, boolean unit, Tensor y, Tensor rstd) {
        timed("rmsNorm", () -> be.rmsNorm(x, w, eps, unit, y, rstd));
    }
    @Override public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unit, Tensor dx, Tensor dw) {
        timed("rmsNormBackward", () -> be.rmsNormBackward(dy, x, w, rstd, unit, dx, dw));
    }
    @Override public void rmsNormBackwardAdd(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unit, Tensor residual, Tensor dx, Tensor dw) {
        timed("rmsNormBackwardAdd", () -> be.rmsNormBackwardAdd(dy, x, w, rstd, unit, residual, dx, dw));
    }
    @Override public void rope(Tensor x, int heads, RopeTable t, int[] pos, boolean inverse) {
        timed(inverse ? "ropeBackward" : "rope", () -> be.rope(x, heads, t, pos, inverse));
    }
    @Override public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        timed("attention", () -> be.attention(s, q, k, v, out, lse));
    }
    @Override public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                                            Tensor dq, Tensor dk, Tensor dv) {
        timed("attentionBackward", () -> be.attentionBackward(s, q, k, v, out, lse, dOut, dq, dk, dv));
    }
    @Override public void gatedActivation(Activation act, Tensor g, Tensor u, Tensor out) {
        timed("gatedActivation", () -> be.gatedActivation(act, g, u, out));
    }
    @Override public void gatedActivationBackward(Activation act, Tensor g, Tensor u, Tensor d, Tensor dg, Tensor du) {
        timed("gatedActivationBackward", () -> be.gatedActivationBackward(act, g, u, d, dg, du));
    }
    @Override public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
        timed("embedding", () -> be.embedding(ids, table, scale, out));
    }
    @Override public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx) {
        timed("embeddingBackward", () -> be.embeddingBackward(ids, dOut, scale, dTable, paddingIdx));
    }
    @Override public void add(Tensor a, Tensor b, Tensor out) { timed("add", () -> be.add(a, b, out)); }
    @Override public void softcap(Tensor x, float cap) { timed("softcap", () -> be.softcap(x, cap)); }
    @Override public void copy(Tensor src, Tensor dst) { timed("copy", () -> be.copy(src, dst)); }
    @Override public long bytesInUse() { return be.bytesInUse(); }
    @Override public long peakBytes() { return be.peakBytes(); }
    @Override public void resetPeak() { be.resetPeak(); }
    @Override public Tensor download(Tensor t) { return be.download(t); }
    @Override public void decodeAttention(DecodeShape s, Tensor q, Tensor k, Tensor v, Tensor out) {
        timed("decodeAttention", () -> be.decodeAttention(s, q, k, v, out));
    }
    @Override public void linearAccumulate(Tensor x, Tensor w, Tensor y) { timed("linearAccumulate", () -> be.linearAccumulate(x, w, y)); }
    @Override public void scale(Tensor x, float s) { timed("scale", () -> be.scale(x, s)); }
    @Override public void dropout(Tensor x, Tensor out, float p, long seed) { timed("dropout", () -> be.dropout(x, out, p, seed)); }
    @Override public void dropoutAdd(Tensor x, Tensor out, float p, long seed) { timed("dropoutAdd", () -> be.dropoutAdd(x, out, p, seed)); }
    @Override public void sumOfSquares(Tensor x, Tensor acc) { timed("sumOfSquares", () -> be.sumOfSquares(x, acc)); }
    @Override public void adamw(Tensor value, Tensor master, Tensor grad, Tensor m, Tensor v, Tensor sq, AdamWStep st) {
        timed("adamw", () -> be.adamw(value, master, grad, m, v, sq, st));
    }
    @Override public LinearCrossEntropy crossEntropy(CceImpl impl) {
        LinearCrossEntropy inner = be.crossEntropy(impl);
        return new LinearCrossEntropy() {
            @Override public CceForward forward(CceInputs in, CceOptions o) {
                CceForward[] f = new CceForward[1];
                timed("cce forward", () -> f[0] = inner.forward(in, o));
                return f[0];
            }
            @Override public CceGradients backward(CceForward f, Tensor up, CceGradients into) {
                CceGradients[] g = new CceGradients[1];
                timed("cce backward", () -> g[0] = inner.backward(f, up, into));
                return g[0];
            }
        };
    }
}
