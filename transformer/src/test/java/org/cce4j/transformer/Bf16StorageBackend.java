package org.cce4j.transformer;

import org.cce4j.transformer.backend.Activation;
import org.cce4j.transformer.backend.AdamWStep;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.FloatFormats;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.AttentionShape;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.backend.RopeTable;

/**
 * The CPU backend with bf16 storage emulated: every weight and every activation (or activation
 * gradient) an operation writes is rounded to the nearest bf16 value, while the arithmetic stays f32
 * (f64 sums) and parameter gradients, rstd and lse stay f32, as on the GPU in bf16 mode. It measures
 * the error bf16 storage alone causes, which is the yardstick for the GPU's bf16 mode.
 */
final class Bf16StorageBackend implements Backend {
    private final CpuBackend be = new CpuBackend();
    private final boolean weights, forward, backward;
    /** With {@link #forward}: only these forward operations round their outputs (null: all). */
    java.util.Set<String> forwardOps;

    Bf16StorageBackend() {
        this(true, true, true);
    }

    /** Rounding only some of what bf16 mode stores: the weights, the forward's outputs, the backward's. */
    Bf16StorageBackend(boolean weights, boolean forward, boolean backward) {
        this.weights = weights;
        this.forward = forward;
        this.backward = backward;
    }

    private void roundW(Tensor t) {
        if (weights) round(t);
    }

    private void roundF(String op, Tensor... ts) {
        inBackward = false;
        if (forward && (forwardOps == null || forwardOps.contains(op))) round(ts);
    }

    private void roundB(Tensor... ts) {
        inBackward = true;
        if (backward) round(ts);
    }

    private static void round(Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) continue;
            for (long i = 0; i < t.numel(); i++) t.setFloat(i, FloatFormats.bf16ToF32(FloatFormats.f32ToBf16(t.getFloat(i))));
        }
    }

    @Override public Device device() { return be.device(); }
    @Override public DType computeDType() { return DType.F32; }
    @Override public Tensor zeros(DType d, long... s) { return be.zeros(d, s); }
    @Override public Tensor upload(Tensor h, DType d) {
        Tensor t = be.upload(h, d);
        roundW(t);
        return t;
    }
    @Override public Tensor downloadF32(Tensor t) { return be.downloadF32(t); }
    @Override public void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        be.linear(x, w, b, y);
        roundF("linear", y);
    }
    @Override public void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean acc, Tensor dw, Tensor db) {
        be.linearBackward(dy, x, w, dx, acc, dw, db);
        roundB(dx);
    }
    @Override public void rmsNorm(Tensor x, Tensor w, float eps, boolean unit, Tensor y, Tensor rstd) {
        be.rmsNorm(x, w, eps, unit, y, rstd);
        roundF("rmsNorm", y);
    }
    @Override public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unit, Tensor dx, Tensor dw) {
        be.rmsNormBackward(dy, x, w, rstd, unit, dx, dw);
        roundB(dx);
    }
    @Override public void rope(Tensor x, int heads, RopeTable t, int[] pos, boolean inverse) {
        be.rope(x, heads, t, pos, inverse);
        if (inverse) roundB(x); else roundF("rope", x);
    }
    @Override public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        be.attention(s, q, k, v, out, lse);
        roundF("attention", out);
    }
    @Override public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                                            Tensor dq, Tensor dk, Tensor dv) {
        be.attentionBackward(s, q, k, v, out, lse, dOut, dq, dk, dv);
        roundB(dq, dk, dv);
    }
    @Override public void gatedActivation(Activation a, Tensor g, Tensor u, Tensor out) {
        be.gatedActivation(a, g, u, out);
        roundF("gated", out);
    }
    @Override public void gatedActivationBackward(Activation a, Tensor g, Tensor u, Tensor d, Tensor dg, Tensor du) {
        be.gatedActivationBackward(a, g, u, d, dg, du);
        roundB(dg, du);
    }
    @Override public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
        be.embedding(ids, table, scale, out);
        roundF("embedding", out);
    }
    @Override public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx) {
        be.embeddingBackward(ids, dOut, scale, dTable, paddingIdx);
    }
    @Override public void add(Tensor a, Tensor b, Tensor out) {
        be.add(a, b, out);
        addRounding(out);
    }
    @Override public void softcap(Tensor x, float cap) {
        be.softcap(x, cap);
        roundF("softcap", x);
    }
    @Override public void copy(Tensor src, Tensor dst) {
        be.copy(src, dst);
        roundB(dst);
    }
    /** add serves both passes; with only one of them rounded, the pass in progress decides. */
    private boolean inBackward;

    private void addRounding(Tensor out) {
        if (inBackward ? backward : forward && (forwardOps == null || forwardOps.contains("add"))) round(out);
    }

    @Override public long bytesInUse() { return be.bytesInUse(); }
    @Override public long peakBytes() { return be.peakBytes(); }
    @Override public void resetPeak() { be.resetPeak(); }
    @Override public Tensor download(Tensor t) { return be.download(t); }
    @Override public void decodeAttention(org.cce4j.transformer.backend.DecodeShape s, Tensor q, Tensor k, Tensor v, Tensor out) {
        be.decodeAttention(s, q, k, v, out);
        roundF("decodeAttention", out);
    }
    @Override public void linearAccumulate(Tensor x, Tensor w, Tensor y) {
        be.linearAccumulate(x, w, y);
        roundF("linearAccumulate", y);
    }
    @Override public void scale(Tensor x, float s) { be.scale(x, s); }
    @Override public void dropout(Tensor x, Tensor out, float p, long seed) { be.dropout(x, out, p, seed); }
    @Override public void sumOfSquares(Tensor x, Tensor acc) { be.sumOfSquares(x, acc); }
    @Override public void adamw(Tensor value, Tensor master, Tensor grad, Tensor m, Tensor v, Tensor sq, AdamWStep st) {
        be.adamw(value, master, grad, m, v, sq, st);
    }
    @Override public LinearCrossEntropy crossEntropy(CceImpl impl) { return be.crossEntropy(impl); }
}
