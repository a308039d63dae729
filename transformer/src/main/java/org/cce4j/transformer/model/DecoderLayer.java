package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.LayerType;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelFamily;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Activation;
import org.cce4j.transformer.backend.AttentionShape;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.DropoutMask;
import org.cce4j.transformer.backend.RopeTable;

import java.util.List;

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
 * <p>
 * Generation runs the same forward ({@link #infer}) with a {@link KvCache}: the one difference is the
 * attention call, which appends this layer's keys and values to the cache and attends over it, and
 * LoRA's dropout is off (PEFT's eval mode). Every other operation is the training forward's, so there
 * is one source of truth for the layer's math.
 */
final class DecoderLayer {
    private final ModelConfig config;
    private final int index;
    private final boolean sandwich;
    private final boolean qkNorm;
    private final boolean unitOffset;
    private final float eps;
    private final RopeTable rope;
    private final Activation activation;
    private final Linear qProj, kProj, vProj, oProj, gateProj, upProj, downProj;
    private final Parameter inputNorm, postAttnNorm, preFfNorm, postFfNorm, qNorm, kNorm;
    boolean recompute;
    /** Projection indices, for the adapters' saved activations and dropout seeds. */
    private static final int Q = 0, K = 1, V = 2, O = 3, GATE = 4, UP = 5, DOWN = 6;

    DecoderLayer(ModelConfig config, HfModules.Layer modules, ParameterStore p, RopeTable rope) {
        this.config = config;
        this.index = modules.index();
        ModelFamily f = config.family();
        this.sandwich = f.sandwichNorms();
        this.qkNorm = f.qkNorm();
        this.unitOffset = f.unitOffsetRmsNorm();
        this.eps = (float) config.rmsNormEps();
        this.activation = activation(config.hiddenActivation());
        this.rope = rope;
        qProj = new Linear(p, modules.qProj());
        kProj = new Linear(p, modules.kProj());
        vProj = new Linear(p, modules.vProj());
        oProj = new Linear(p, modules.oProj());
        gateProj = new Linear(p, modules.gateProj());
        upProj = new Linear(p, modules.upProj());
        downProj = new Linear(p, modules.downProj());
        inputNorm = p.get(modules.inputNorm().weight());
        postAttnNorm = p.get(modules.postAttentionNorm().weight());
        preFfNorm = sandwich ? p.get(modules.preFeedforwardNorm().weight()) : null;
        postFfNorm = sandwich ? p.get(modules.postFeedforwardNorm().weight()) : null;
        qNorm = qkNorm ? p.get(modules.qNorm().weight()) : null;
        kNorm = qkNorm ? p.get(modules.kNorm().weight()) : null;
    }

    /** The checkpoint's hidden_act as the backends' activation. */
    private static Activation activation(org.cce4j.checkpoints.hf.Activation hf) {
        return switch (hf) {
            case SILU -> Activation.SILU;
            case GELU_TANH -> Activation.GELU_TANH;
            case GELU -> Activation.GELU;
            case RELU -> Activation.RELU;
        };
    }

    /** The layer's projections in registration order (q, k, v, o, gate, up, down). */
    List<Linear> linears() {
        return List.of(qProj, kProj, vProj, oProj, gateProj, upProj, downProj);
    }

    /** Every parameter this layer's backward writes a gradient into: norms, projections (weights, biases) and their adapters. */
    List<Parameter> parameters() {
        List<Parameter> out = new java.util.ArrayList<>();
        for (Parameter n : new Parameter[] {inputNorm, postAttnNorm, preFfNorm, postFfNorm, qNorm, kNorm}) {
            if (n != null) out.add(n);
        }
        for (Linear l : linears()) {
            out.add(l.weight);
            if (l.bias != null) out.add(l.bias);
            if (l.lora() != null) {
                out.add(l.lora().a());
                out.add(l.lora().b());
            }
        }
        return out;
    }

    /** What the backward needs, all [M, ·] on the backend's device. */
    static final class Saved implements AutoCloseable {
        final Scratch mem;
        // M = B·T tokens, D = hidden, H / KV = query / key-value heads, hd = head_dim, I = intermediate;
        // element type: the backend's compute dtype, (f32) where always f32
        // lean (the training forward's default): xn1, xn2 and act are not kept but recomputed in the backward
        // from x, x1 and gate/up (two RMSNorms and one gated activation: ~1% of the step), and o and down,
        // which only the sandwich norms' backward reads, are freed once added to the residual stream:
        // 4·D + I fewer values per token and layer, 2·D + I with sandwich norms (Llama 3.2 1B: 16,384 of
        // the 41,984 a layer kept with its input, 39%)
        Tensor xn1;     // [M, D]        input_layernorm(x)                       (not lean)
        Tensor rstd1;   // [M]     (f32) its 1/rms
        Tensor qPre;    // [M, H·hd]     q_proj(xn1) before q_norm (qk-norm families only)
        Tensor rstdQ;   // [M·H]   (f32) q_norm's 1/rms per head
        Tensor kPre;    // [M, KV·hd]    k_proj(xn1) before k_norm (qk-norm families only)
        Tensor rstdK;   // [M·KV]  (f32) k_norm's 1/rms per head
        Tensor q;       // [M, H·hd]     queries after RoPE
        Tensor k;       // [M, KV·hd]    keys after RoPE
        Tensor v;       // [M, KV·hd]    values
        Tensor attn;    // [M, H·hd]     attention output, before o_proj
        Tensor lse;     // [M, H]  (f32) attention's log-sum-exp per query and head
        Tensor o;       // [M, D]        o_proj(attn)                             (sandwich norms, or not lean)
        Tensor rstdPA;  // [M]     (f32) post_attention_layernorm's 1/rms of o (sandwich norms only)
        Tensor x1;      // [M, D]        the residual stream after attention
        Tensor xn2;     // [M, D]        the MLP's input norm of x1               (not lean)
        Tensor rstd2;   // [M]     (f32) its 1/rms
        Tensor gate;    // [M, I]        gate_proj(xn2)
        Tensor up;      // [M, I]        up_proj(xn2)
        Tensor act;     // [M, I]        act(gate) · up                           (not lean)
        Tensor down;    // [M, D]        down_proj(act)                           (sandwich norms, or not lean)
        Tensor rstdPF;  // [M]     (f32) post_feedforward_layernorm's 1/rms of down (sandwich norms only)
        final Tensor[] lora = new Tensor[7];  // [M, r] per projection (Q..DOWN): s·dropout(x)·Aᵀ of its LoRA adapter, else null

        Saved(Scratch mem) {
            this.mem = mem;
        }

        @Override
        public void close() {
            mem.close();
        }
    }

    /** The sliding window of this layer (a token sees itself and window − 1 before it), or 0 for full attention. */
    int window() {
        boolean sliding = config.layerType(index) == LayerType.SLIDING_ATTENTION;
        return sliding && config.slidingWindow() != null ? config.slidingWindow() : 0;
    }

    private AttentionShape shape(Batch b) {
        return new AttentionShape(b.batch(), b.seqLen(), config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(),
                (float) config.attentionScale(), (float) config.attnLogitSoftcap(), window(), b.documents(), b.keyMask());
    }

    /** The dropout seed of projection {@code proj} of this layer in a pass seeded {@code passSeed}. */
    private long seed(long passSeed, int proj) {
        return DropoutMask.derive(passSeed, index, proj);
    }

    /** out = layer(x); returns the activations to keep (only when not recomputing, else null). */
    Saved forward(Backend be, Batch b, long passSeed, Tensor x, Tensor out) {
        Saved s = run(be, b, passSeed, x, out, null, true);
        if (recompute) {
            s.close();
            return null;
        }
        return s;
    }

    /**
     * out = layer(x) for the tokens of {@code b} (one sequence, positions cache.length() onwards),
     * their keys and values appended to layer {@code index} of the cache; returns the scratch to close.
     */
    Saved infer(Backend be, Batch b, Tensor x, Tensor out, KvCache cache) {
        return run(be, b, 0L, x, out, cache, true);
    }

    /**
     * The forward; with a cache, generation's (cached attention, no dropout), else training's. {@code lean}
     * keeps only what the backward cannot cheaply recompute (see {@link Saved}); the backward's own
     * recomputation (gradient checkpointing) keeps everything, so that nothing is computed a third time.
     */
    private Saved run(Backend be, Batch b, long passSeed, Tensor x, Tensor out, KvCache cache, boolean lean) {
        boolean dropout = cache == null;   // LoRA dropout in training only
        int m = b.tokens(), h = config.hiddenSize(), hd = config.headDim();
        int nq = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), inter = config.intermediateSize();
        Saved s = new Saved(new Scratch(be));
        try (Scratch tmp = new Scratch(be)) {   // this forward's values that the backward recomputes
            Scratch mem = s.mem;
            Scratch kept = lean ? tmp : mem;
            Tensor xn1 = kept.alloc(m, h);
            s.rstd1 = mem.allocF32(m);
            be.rmsNorm(x, inputNorm.value(), eps, unitOffset, xn1, s.rstd1);
            if (!lean) s.xn1 = xn1;

            s.q = mem.alloc(m, (long) nq * hd);
            s.k = mem.alloc(m, (long) nkv * hd);
            s.v = mem.alloc(m, (long) nkv * hd);
            if (qkNorm) {
                s.qPre = mem.alloc(m, (long) nq * hd);
                s.kPre = mem.alloc(m, (long) nkv * hd);
                s.lora[Q] = qProj.forward(be, mem, xn1, s.qPre, seed(passSeed, Q), dropout);
                s.lora[K] = kProj.forward(be, mem, xn1, s.kPre, seed(passSeed, K), dropout);
                s.rstdQ = mem.allocF32((long) m * nq);
                s.rstdK = mem.allocF32((long) m * nkv);
                be.rmsNorm(s.qPre.reshape((long) m * nq, hd), qNorm.value(), eps, unitOffset, s.q.reshape((long) m * nq, hd), s.rstdQ);
                be.rmsNorm(s.kPre.reshape((long) m * nkv, hd), kNorm.value(), eps, unitOffset, s.k.reshape((long) m * nkv, hd), s.rstdK);
            } else {
                s.lora[Q] = qProj.forward(be, mem, xn1, s.q, seed(passSeed, Q), dropout);
                s.lora[K] = kProj.forward(be, mem, xn1, s.k, seed(passSeed, K), dropout);
            }
            s.lora[V] = vProj.forward(be, mem, xn1, s.v, seed(passSeed, V), dropout);
            be.rope(s.q, nq, rope, b.positions(), false);
            be.rope(s.k, nkv, rope, b.positions(), false);

            s.attn = mem.alloc(m, (long) nq * hd);
            if (cache == null) {
                s.lse = mem.allocF32(m, nq);
                be.attention(shape(b), s.q, s.k, s.v, s.attn, s.lse);
            } else {
                cache.attend(index, be, shape(b), s.q, s.k, s.v, s.attn, mem);
            }
            s.o = (sandwich ? mem : kept).alloc(m, h);
            s.lora[O] = oProj.forward(be, mem, s.attn, s.o, seed(passSeed, O), dropout);

            s.x1 = mem.alloc(m, h);
            if (sandwich) {
                Tensor on = tmp.alloc(m, h);   // the backward needs o and rstd, not norm(o)
                s.rstdPA = mem.allocF32(m);
                be.rmsNorm(s.o, postAttnNorm.value(), eps, unitOffset, on, s.rstdPA);
                be.add(x, on, s.x1);
            } else {
                be.add(x, s.o, s.x1);
                if (lean) s.o = null;
            }

            Tensor xn2 = kept.alloc(m, h);
            s.rstd2 = mem.allocF32(m);
            be.rmsNorm(s.x1, mlpNorm().value(), eps, unitOffset, xn2, s.rstd2);
            if (!lean) s.xn2 = xn2;
            s.gate = mem.alloc(m, inter);
            s.up = mem.alloc(m, inter);
            Tensor act = kept.alloc(m, inter);
            s.lora[GATE] = gateProj.forward(be, mem, xn2, s.gate, seed(passSeed, GATE), dropout);
            s.lora[UP] = upProj.forward(be, mem, xn2, s.up, seed(passSeed, UP), dropout);
            be.gatedActivation(activation, s.gate, s.up, act);
            if (!lean) s.act = act;
            s.down = (sandwich ? mem : kept).alloc(m, h);
            s.lora[DOWN] = downProj.forward(be, mem, act, s.down, seed(passSeed, DOWN), dropout);
            if (sandwich) {
                Tensor dn = tmp.alloc(m, h);   // likewise down and rstd, not norm(down)
                s.rstdPF = mem.allocF32(m);
                be.rmsNorm(s.down, postFfNorm.value(), eps, unitOffset, dn, s.rstdPF);
                be.add(s.x1, dn, out);
            } else {
                be.add(s.x1, s.down, out);
                if (lean) s.down = null;
            }
            return s;
        } catch (RuntimeException | Error e) {
            s.close();   // out of memory half-way: free what this layer had allocated
            throw e;
        }
    }

    /** The norm in front of the MLP: pre_feedforward_layernorm with sandwich norms, else post_attention_layernorm. */
    private Parameter mlpNorm() {
        return sandwich ? preFfNorm : postAttnNorm;
    }

    /** norm(x) again, into {@code mem}: the same kernel on the same input as the forward, so the same values. */
    private Tensor renormed(Backend be, Scratch mem, Tensor x, Parameter norm, int m) {
        Tensor xn = mem.alloc(m, config.hiddenSize());
        be.rmsNorm(x, norm.value(), eps, unitOffset, xn, mem.allocF32(m));
        return xn;
    }

    /**
     * Given dOut (the gradient at the layer's output), writes dx (the gradient at its input) and
     * accumulates every parameter gradient. {@code saved} is null when recomputing.
     */
    void backward(Backend be, Batch b, long passSeed, Tensor x, Saved saved, Tensor dOut, Tensor dx) {
        Saved s = saved;
        Tensor scratchOut = null;
        if (s == null) {
            scratchOut = be.empty(be.computeDType(), x.shape());
            try {
                s = run(be, b, passSeed, x, scratchOut, null, false);
            } catch (RuntimeException | Error e) {
                scratchOut.close();
                throw e;
            }
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
            Tensor act = s.act;
            if (act == null) {
                act = mem.alloc(m, inter);
                be.gatedActivation(activation, s.gate, s.up, act);
            }
            Tensor dAct = mem.alloc(m, inter);
            downProj.backward(be, dDown, act, s.lora[DOWN], dAct, false, seed(passSeed, DOWN));
            Tensor dGate = mem.alloc(m, inter), dUp = mem.alloc(m, inter);
            be.gatedActivationBackward(activation, s.gate, s.up, dAct, dGate, dUp);
            Tensor xn2 = s.xn2 != null ? s.xn2 : renormed(be, mem, s.x1, mlpNorm(), m);
            Tensor dXn2 = mem.alloc(m, h);
            gateProj.backward(be, dGate, xn2, s.lora[GATE], dXn2, false, seed(passSeed, GATE));
            upProj.backward(be, dUp, xn2, s.lora[UP], dXn2, true, seed(passSeed, UP));
            Tensor dX1 = mem.alloc(m, h);
            Parameter norm2 = mlpNorm();
            be.rmsNormBackwardAdd(dXn2, s.x1, norm2.value(), s.rstd2, unitOffset, dOut, dX1, norm2.gradOrNull());

            // ---- attention branch: x1 = x + [postAttn](o_proj(attention(rope(q), rope(k), v)))
            Tensor dO = dX1;
            if (sandwich) {
                dO = mem.alloc(m, h);
                be.rmsNormBackward(dX1, s.o, postAttnNorm.value(), s.rstdPA, unitOffset, dO, postAttnNorm.gradOrNull());
            }
            Tensor dAttn = mem.alloc(m, (long) nq * hd);
            oProj.backward(be, dO, s.attn, s.lora[O], dAttn, false, seed(passSeed, O));
            Tensor dq = mem.alloc(m, (long) nq * hd), dk = mem.alloc(m, (long) nkv * hd), dv = mem.alloc(m, (long) nkv * hd);
            be.attentionBackward(shape(b), s.q, s.k, s.v, s.attn, s.lse, dAttn, dq, dk, dv);
            be.rope(dq, nq, rope, b.positions(), true);
            be.rope(dk, nkv, rope, b.positions(), true);
            Tensor xn1 = s.xn1 != null ? s.xn1 : renormed(be, mem, x, inputNorm, m);
            Tensor dXn1 = mem.alloc(m, h);
            if (qkNorm) {
                Tensor dqPre = mem.alloc(m, (long) nq * hd), dkPre = mem.alloc(m, (long) nkv * hd);
                be.rmsNormBackward(dq.reshape((long) m * nq, hd), s.qPre.reshape((long) m * nq, hd), qNorm.value(), s.rstdQ,
                        unitOffset, dqPre.reshape((long) m * nq, hd), qNorm.gradOrNull());
                be.rmsNormBackward(dk.reshape((long) m * nkv, hd), s.kPre.reshape((long) m * nkv, hd), kNorm.value(), s.rstdK,
                        unitOffset, dkPre.reshape((long) m * nkv, hd), kNorm.gradOrNull());
                qProj.backward(be, dqPre, xn1, s.lora[Q], dXn1, false, seed(passSeed, Q));
                kProj.backward(be, dkPre, xn1, s.lora[K], dXn1, true, seed(passSeed, K));
            } else {
                qProj.backward(be, dq, xn1, s.lora[Q], dXn1, false, seed(passSeed, Q));
                kProj.backward(be, dk, xn1, s.lora[K], dXn1, true, seed(passSeed, K));
            }
            vProj.backward(be, dv, xn1, s.lora[V], dXn1, true, seed(passSeed, V));
            be.rmsNormBackwardAdd(dXn1, x, inputNorm.value(), s.rstd1, unitOffset, dX1, dx, inputNorm.gradOrNull());
        } finally {
            if (saved == null) {
                s.close();
                scratchOut.close();
            }
        }
    }
}
