package org.cce4j.transformer;

import org.cce4j.checkpoints.hf.Activation;
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
        round(t);
        return t;
    }
    @Override public Tensor downloadF32(Tensor t) { return be.downloadF32(t); }
    @Override public void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        be.linear(x, w, b, y);
        round(y);
    }
    @Override public void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean acc, Tensor dw, Tensor db) {
        be.linearBackward(dy, x, w, dx, acc, dw, db);
        round(dx);
    }
    @Override public void rmsNorm(Tensor x, Tensor w, float eps, boolean unit, Tensor y, Tensor rstd) {
        be.rmsNorm(x, w, eps, unit, y, rstd);
        round(y);
    }
    @Override public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unit, Tensor dx, Tensor dw) {
        be.rmsNormBackward(dy, x, w, rstd, unit, dx, dw);
        round(dx);
    }
    @Override public void rope(Tensor x, int heads, RopeTable t, int[] pos, boolean inverse) {
        be.rope(x, heads, t, pos, inverse);
        round(x);
    }
    @Override public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        be.attention(s, q, k, v, out, lse);
        round(out);
    }
    @Override public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                                            Tensor dq, Tensor dk, Tensor dv) {
        be.attentionBackward(s, q, k, v, out, lse, dOut, dq, dk, dv);
        round(dq, dk, dv);
    }
    @Override public void gatedActivation(Activation a, Tensor g, Tensor u, Tensor out) {
        be.gatedActivation(a, g, u, out);
        round(out);
    }
    @Override public void gatedActivationBackward(Activation a, Tensor g, Tensor u, Tensor d, Tensor dg, Tensor du) {
        be.gatedActivationBackward(a, g, u, d, dg, du);
        round(dg, du);
    }
    @Override public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
        be.embedding(ids, table, scale, out);
        round(out);
    }
    @Override public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable) {
        be.embeddingBackward(ids, dOut, scale, dTable);
    }
    @Override public void add(Tensor a, Tensor b, Tensor out) {
        be.add(a, b, out);
        round(out);
    }
    @Override public void softcap(Tensor x, float cap) {
        be.softcap(x, cap);
        round(x);
    }
    @Override public void copy(Tensor src, Tensor dst) {
        be.copy(src, dst);
        round(dst);
    }
    @Override public LinearCrossEntropy crossEntropy(CceImpl impl) { return be.crossEntropy(impl); }
}
