package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.LayerType;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelFamily;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.AttentionShape;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.RopeTable;

/**
 * One decoder layer with its forward, its backward and the activations it keeps between them
 * ({@link Saved}). The families differ only in a few switches:
 * <pre>
 *   Llama, Mistral, Qwen, Gemma 1      x1 = x + o_proj(attn(norm_in(x)))          x2 = x1 + mlp(norm_post_attn(x1))
 *   Gemma 2, Gemma 3 (sandwich norms)  x1 = x + norm_post_attn(o_proj(attn(...)))  x2 = x1 + norm_post_ff(mlp(norm_pre_ff(x1)))
 *   Qwen3, Gemma 3                     q, k pass an RMSNorm over each head before RoPE
 *   Gemma                              RMSNorm gains are (1 + w); GeGLU instead of SwiGLU
 * </pre>
 * With {@code recompute} the layer keeps only its input and runs the forward again in the backward
 * (gradient checkpointing).
 */
final class DecoderLayer {
    private final ModelConfig config;
    private final int index;
    private final boolean sandwich;
    private final boolean qkNorm;
    private final boolean unitOffset;
    private final float eps;
    private final RopeTable rope;
    private final Linear qProj, kProj, vProj, oProj, gateProj, upProj, downProj;
    private final Parameter inputNorm, postAttnNorm, preFfNorm, postFfNorm, qNorm, kNorm;
    boolean recompute;

    DecoderLayer(ModelConfig config, int index, ParameterStore p, RopeTable rope) {
        this.config = config;
        this.index = index;
        ModelFamily f = config.family();
        this.sandwich = f.sandwichNorms();
        this.qkNorm = f.qkNorm();
        this.unitOffset = f.unitOffsetRmsNorm();
        this.eps = (float) config.rmsNormEps();
        this.rope = rope;
        String pre = "model.layers." + index + ".";
        qProj = new Linear(p, pre + "self_attn.q_proj");
        kProj = new Linear(p, pre + "self_attn.k_proj");
        vProj = new Linear(p, pre + "self_attn.v_proj");
        oProj = new Linear(p, pre + "self_attn.o_proj");
        gateProj = new Linear(p, pre + "mlp.gate_proj");
        upProj = new Linear(p, pre + "mlp.up_proj");
        downProj = new Linear(p, pre + "mlp.down_proj");
        inputNorm = p.get(pre + "input_layernorm.weight");
        postAttnNorm = p.get(pre + "post_attention_layernorm.weight");
        preFfNorm = sandwich ? p.get(pre + "pre_feedforward_layernorm.weight") : null;
        postFfNorm = sandwich ? p.get(pre + "post_feedforward_layernorm.weight") : null;
        qNorm = qkNorm ? p.get(pre + "self_attn.q_norm.weight") : null;
        kNorm = qkNorm ? p.get(pre + "self_attn.k_norm.weight") : null;
    }

    /** What the backward needs, all [M, ·] on the backend's device. */
    static final class Saved implements AutoCloseable {
        final Scratch mem;
        Tensor xn1, rstd1, qPre, rstdQ, kPre, rstdK, q, k, v, attn, lse, o, rstdPA, x1, xn2, rstd2, gate, up, act, down, rstdPF;

        Saved(Scratch mem) {
            this.mem = mem;
        }

        @Override
        public void close() {
            mem.close();
        }
    }

    private AttentionShape shape(Batch b) {
        boolean sliding = config.layerType(index) == LayerType.SLIDING_ATTENTION;
        int window = sliding && config.slidingWindow() != null ? config.slidingWindow() : 0;
        return new AttentionShape(b.batch(), b.seqLen(), config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(),
                (float) config.attentionScale(), (float) config.attnLogitSoftcap(), window, b.documents(), b.keyMask());
    }

    /** out = layer(x); returns the activations to keep (only when not recomputing, else null). */
    Saved forward(Backend be, Batch b, Tensor x, Tensor out) {
        Saved s = run(be, b, x, out);
        if (recompute) {
            s.close();
            return null;
        }
        return s;
    }

    private Saved run(Backend be, Batch b, Tensor x, Tensor out) {
        int m = b.tokens(), h = config.hiddenSize(), hd = config.headDim();
        int nq = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), inter = config.intermediateSize();
        Saved s = new Saved(new Scratch(be));
        Scratch mem = s.mem;
        s.xn1 = mem.alloc(m, h);
        s.rstd1 = mem.allocF32(m);
        be.rmsNorm(x, inputNorm.value(), eps, unitOffset, s.xn1, s.rstd1);

        s.q = mem.alloc(m, (long) nq * hd);
        s.k = mem.alloc(m, (long) nkv * hd);
        s.v = mem.alloc(m, (long) nkv * hd);
        if (qkNorm) {
            s.qPre = mem.alloc(m, (long) nq * hd);
            s.kPre = mem.alloc(m, (long) nkv * hd);
            qProj.forward(be, s.xn1, s.qPre);
            kProj.forward(be, s.xn1, s.kPre);
            s.rstdQ = mem.allocF32((long) m * nq);
            s.rstdK = mem.allocF32((long) m * nkv);
            be.rmsNorm(s.qPre.reshape((long) m * nq, hd), qNorm.value(), eps, unitOffset, s.q.reshape((long) m * nq, hd), s.rstdQ);
            be.rmsNorm(s.kPre.reshape((long) m * nkv, hd), kNorm.value(), eps, unitOffset, s.k.reshape((long) m * nkv, hd), s.rstdK);
        } else {
            qProj.forward(be, s.xn1, s.q);
            kProj.forward(be, s.xn1, s.k);
        }
        vProj.forward(be, s.xn1, s.v);
        be.rope(s.q, nq, rope, b.positions(), false);
        be.rope(s.k, nkv, rope, b.positions(), false);

        s.attn = mem.alloc(m, (long) nq * hd);
        s.lse = mem.allocF32(m, nq);
        be.attention(shape(b), s.q, s.k, s.v, s.attn, s.lse);
        s.o = mem.alloc(m, h);
        oProj.forward(be, s.attn, s.o);

        s.x1 = mem.alloc(m, h);
        if (sandwich) {
            Tensor on = mem.alloc(m, h);
            s.rstdPA = mem.allocF32(m);
            be.rmsNorm(s.o, postAttnNorm.value(), eps, unitOffset, on, s.rstdPA);
            be.add(x, on, s.x1);
        } else {
            be.add(x, s.o, s.x1);
        }

        s.xn2 = mem.alloc(m, h);
        s.rstd2 = mem.allocF32(m);
        be.rmsNorm(s.x1, sandwich ? preFfNorm.value() : postAttnNorm.value(), eps, unitOffset, s.xn2, s.rstd2);
        s.gate = mem.alloc(m, inter);
        s.up = mem.alloc(m, inter);
        s.act = mem.alloc(m, inter);
        gateProj.forward(be, s.xn2, s.gate);
        upProj.forward(be, s.xn2, s.up);
        be.gatedActivation(config.hiddenActivation(), s.gate, s.up, s.act);
        s.down = mem.alloc(m, h);
        downProj.forward(be, s.act, s.down);
        if (sandwich) {
            Tensor dn = mem.alloc(m, h);
            s.rstdPF = mem.allocF32(m);
            be.rmsNorm(s.down, postFfNorm.value(), eps, unitOffset, dn, s.rstdPF);
            be.add(s.x1, dn, out);
        } else {
            be.add(s.x1, s.down, out);
        }
        return s;
    }

    /**
     * Given dOut (the gradient at the layer's output), writes dx (the gradient at its input) and
     * accumulates every parameter gradient. {@code saved} is null when recomputing.
     */
    void backward(Backend be, Batch b, Tensor x, Saved saved, Tensor dOut, Tensor dx) {
        Saved s = saved;
        Tensor scratchOut = null;
        if (s == null) {
            scratchOut = be.empty(be.computeDType(), x.shape());
            s = run(be, b, x, scratchOut);
        }
        try (Scratch mem = new Scratch(be)) {
            int m = b.tokens(), h = config.hiddenSize(), hd = config.headDim();
            int nq = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), inter = config.intermediateSize();

            // ---- MLP branch: x2 = x1 + [postFF](down(act(gate(xn2)) · up(xn2)))
            Tensor dDown = dOut;
            if (sandwich) {
                dDown = mem.alloc(m, h);
                be.rmsNormBackward(dOut, s.down, postFfNorm.value(), s.rstdPF, unitOffset, dDown, postFfNorm.gradOrNull());
            }
            Tensor dAct = mem.alloc(m, inter);
            downProj.backward(be, dDown, s.act, dAct, false);
            Tensor dGate = mem.alloc(m, inter), dUp = mem.alloc(m, inter);
            be.gatedActivationBackward(config.hiddenActivation(), s.gate, s.up, dAct, dGate, dUp);
            Tensor dXn2 = mem.alloc(m, h);
            gateProj.backward(be, dGate, s.xn2, dXn2, false);
            upProj.backward(be, dUp, s.xn2, dXn2, true);
            Tensor dX1 = mem.alloc(m, h);
            Parameter norm2 = sandwich ? preFfNorm : postAttnNorm;
            be.rmsNormBackward(dXn2, s.x1, norm2.value(), s.rstd2, unitOffset, dX1, norm2.gradOrNull());
            be.add(dX1, dOut, dX1);

            // ---- attention branch: x1 = x + [postAttn](o_proj(attention(rope(q), rope(k), v)))
            Tensor dO = dX1;
            if (sandwich) {
                dO = mem.alloc(m, h);
                be.rmsNormBackward(dX1, s.o, postAttnNorm.value(), s.rstdPA, unitOffset, dO, postAttnNorm.gradOrNull());
            }
            Tensor dAttn = mem.alloc(m, (long) nq * hd);
            oProj.backward(be, dO, s.attn, dAttn, false);
            Tensor dq = mem.alloc(m, (long) nq * hd), dk = mem.alloc(m, (long) nkv * hd), dv = mem.alloc(m, (long) nkv * hd);
            be.attentionBackward(shape(b), s.q, s.k, s.v, s.attn, s.lse, dAttn, dq, dk, dv);
            be.rope(dq, nq, rope, b.positions(), true);
            be.rope(dk, nkv, rope, b.positions(), true);
            Tensor dXn1 = mem.alloc(m, h);
            if (qkNorm) {
                Tensor dqPre = mem.alloc(m, (long) nq * hd), dkPre = mem.alloc(m, (long) nkv * hd);
                be.rmsNormBackward(dq.reshape((long) m * nq, hd), s.qPre.reshape((long) m * nq, hd), qNorm.value(), s.rstdQ,
                        unitOffset, dqPre.reshape((long) m * nq, hd), qNorm.gradOrNull());
                be.rmsNormBackward(dk.reshape((long) m * nkv, hd), s.kPre.reshape((long) m * nkv, hd), kNorm.value(), s.rstdK,
                        unitOffset, dkPre.reshape((long) m * nkv, hd), kNorm.gradOrNull());
                qProj.backward(be, dqPre, s.xn1, dXn1, false);
                kProj.backward(be, dkPre, s.xn1, dXn1, true);
            } else {
                qProj.backward(be, dq, s.xn1, dXn1, false);
                kProj.backward(be, dk, s.xn1, dXn1, true);
            }
            vProj.backward(be, dv, s.xn1, dXn1, true);
            be.rmsNormBackward(dXn1, x, inputNorm.value(), s.rstd1, unitOffset, dx, inputNorm.gradOrNull());
            be.add(dx, dX1, dx);
        } finally {
            if (saved == null) {
                s.close();
                scratchOut.close();
            }
        }
    }
}
