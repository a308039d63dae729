package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.LayerType;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.RopeTable;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only language model (Llama, Mistral, Qwen 2/3, Gemma 1/2/3) over a {@link Backend}:
 * <pre>
 *   h0 = embed(ids) · embedScale            (√hidden for Gemma)
 *   h(l+1) = layer_l(h(l))                  (DecoderLayer)
 *   hn = norm(h(L))
 *   loss = CCE(hn, lm_head, labels shifted by one, softcap = final_logit_softcapping)
 * </pre>
 * The logits are never formed in training: the loss is cce-core's Cut Cross-Entropy, whose
 * backward gives dHn and the head's gradient (the embedding's, when tied) directly. Generation
 * ({@link #newCache}, {@link #extend}) runs the same layers over a {@link KvCache} and forms the
 * logits of the last position only.
 */
public final class TransformerModel implements AutoCloseable {
    private final ModelConfig config;
    private final Backend backend;
    private final ParameterStore params;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final Map<String, Linear> linears = new LinkedHashMap<>();
    private final Parameter embed, finalNorm, head;
    private final float embedScale;
    /** The embedding row that lookups never train (the config's pad_token_id, as transformers' nn.Embedding(padding_idx)), or −1. */
    private final int paddingIdx;

    public TransformerModel(ModelConfig config, ParameterStore params, Backend backend) {
        this.config = config;
        this.backend = backend;
        this.params = params;
        HfModules modules = HfModules.of(config);
        Map<LayerType, RopeTable> ropes = new EnumMap<>(LayerType.class);
        for (HfModules.Layer m : modules.layers()) {
            RopeTable rope = ropes.computeIfAbsent(config.layerType(m.index()),
                    t -> RopeFrequencies.of(config.rope(m.index()), config.headDim(), config.maxPositionEmbeddings()));
            DecoderLayer layer = new DecoderLayer(config, m, params, rope);
            layers.add(layer);
            for (Linear l : layer.linears()) linears.put(l.path(), l);
        }
        embed = params.get(modules.embedTokens().weight());
        finalNorm = params.get(modules.finalNorm().weight());
        head = config.tieWordEmbeddings() ? embed : params.get(modules.lmHead().weight());
        embedScale = (float) config.embeddingScale();
        Integer pad = config.padTokenId();
        paddingIdx = pad != null && pad >= 0 && pad < config.vocabSize() ? pad : -1;
    }

    /** The decoder layers' linear projections by module path ({@code model.layers.3.self_attn.q_proj}), in registration order. */
    public Map<String, Linear> linears() {
        return Collections.unmodifiableMap(linears);
    }

    /** The projection at {@code path}; an unknown path is an IllegalArgumentException naming it. */
    public Linear linear(String path) {
        Linear l = linears.get(path);
        if (l == null) throw new IllegalArgumentException("no linear module " + path + " in this " + config.family() + " model");
        return l;
    }

    public ModelConfig config() {
        return config;
    }

    public ParameterStore parameters() {
        return params;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * Told, during a backward, of each group of parameters whose gradients that backward has finished
     * writing (frozen ones included: the listener filters): data-parallel training starts reducing a
     * bucket of gradients on the last micro-batch of a step while the backward goes on.
     */
    @FunctionalInterface
    public interface GradientsReady {
        void ready(List<Parameter> parameters);
    }

    /**
     * The parameters in the order a backward finishes their gradients, one group per call of
     * {@link GradientsReady}: the final norm with an untied head, then each layer from the last to the
     * first, then the embedding (with a tied head, which the embedding's backward still adds to).
     */
    public List<List<Parameter>> gradientOrder() {
        List<List<Parameter>> out = new ArrayList<>();
        out.add(head == embed ? List.of(finalNorm) : List.of(finalNorm, head));
        for (int l = layers.size() - 1; l >= 0; l--) out.add(layers.get(l).parameters());
        out.add(List.of(embed));
        return out;
    }

    /** Gradient checkpointing for every layer. */
    public void setRecompute(boolean recompute) {
        layers.forEach(l -> l.recompute = recompute);
    }

    /** The activations of one forward pass, kept for its backward. */
    public final class Pass implements AutoCloseable {
        final Batch batch;
        final long seed;
        final List<Tensor> hidden = new ArrayList<>();
        final List<DecoderLayer.Saved> saved = new ArrayList<>();
        Tensor normed, rstd;

        Pass(Batch batch, long seed) {
            this.batch = batch;
            this.seed = seed;
        }

        public Batch batch() {
            return batch;
        }

        /** The final hidden states after the last norm, [B·T, hidden]. */
        public Tensor normed() {
            return normed;
        }

        @Override
        public void close() {
            hidden.forEach(Tensor::close);
            saved.forEach(s -> {
                if (s != null) s.close();
            });
            if (normed != null) normed.close();
            if (rstd != null) rstd.close();
        }
    }

    public Pass forward(Batch b) {
        return forward(b, 0L);
    }

    /** The forward pass; {@code dropoutSeed} draws the LoRA adapters' dropout masks (the backward redraws the same). */
    public Pass forward(Batch b, long dropoutSeed) {
        int m = b.tokens(), h = config.hiddenSize();
        Pass pass = new Pass(b, dropoutSeed);
        try {
            Tensor x = backend.empty(backend.computeDType(), m, h);
            pass.hidden.add(x);
            backend.embedding(b.inputIds(), embed.value(), embedScale, x);
            for (DecoderLayer layer : layers) {
                Tensor next = backend.empty(backend.computeDType(), m, h);
                pass.hidden.add(next);
                pass.saved.add(layer.forward(backend, b, pass.seed, x, next));
                x = next;
            }
            pass.normed = backend.empty(backend.computeDType(), m, h);
            pass.rstd = backend.empty(DType.F32, m);
            backend.rmsNorm(x, finalNorm.value(), (float) config.rmsNormEps(), config.family().unitOffsetRmsNorm(), pass.normed, pass.rstd);
            return pass;
        } catch (RuntimeException | Error e) {
            pass.close();   // out of memory half-way: free the activations kept so far
            throw e;
        }
    }

    /** The logits [B·T, V] (softcapped like transformers), materialized: for inspection, not training. */
    public Tensor logits(Pass pass) {
        Tensor logits = backend.empty(backend.computeDType(), pass.batch.tokens(), config.vocabSize());
        backend.linear(pass.normed, head.value(), null, logits);
        if (config.finalLogitSoftcap() > 0) backend.softcap(logits, (float) config.finalLogitSoftcap());
        return logits;
    }

    // ---- generation ----------------------------------------------------------------------------

    /** An empty KV cache for one sequence of up to {@code capacity} tokens (prompt and generated) on this model's backend. */
    public KvCache newCache(int capacity) {
        int[] windows = new int[layers.size()];
        for (int l = 0; l < windows.length; l++) windows[l] = layers.get(l).window();
        return new KvCache(backend, config.numKeyValueHeads() * config.headDim(), windows, capacity);
    }

    /**
     * Runs {@code ids} (positions cache.length() onwards) through the model, keeping their keys and
     * values in the cache, and returns the logits of the last of them, f32 on the host [V]
     * (softcapped like transformers): what the full forward's last row would give. The first call is
     * the prompt's prefill; after it, tokens are run one at a time (several given are run in turn).
     * Generation's pass: the same layers as training's, with the cache's attention and no LoRA dropout.
     */
    public float[] extend(KvCache cache, int[] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("no tokens to run");
        if (cache.length() > 0 && ids.length > 1) {
            float[] last = null;
            for (int id : ids) last = extend(cache, new int[] {id});
            return last;
        }
        int n = ids.length, h = config.hiddenSize(), start = cache.length();
        int[] positions = new int[n];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            positions[i] = start + i;
            labels[i] = -100;
        }
        Batch b = new Batch(1, n, ids, positions, labels, null, null);
        Tensor x = backend.empty(backend.computeDType(), n, h);
        try {
            backend.embedding(ids, embed.value(), embedScale, x);
            for (DecoderLayer layer : layers) {
                Tensor next = backend.empty(backend.computeDType(), n, h);
                try (DecoderLayer.Saved scratch = layer.infer(backend, b, x, next, cache)) {
                    x.close();
                    x = next;
                } catch (RuntimeException | Error e) {
                    next.close();
                    throw e;
                }
            }
            cache.advance(n);
            try (Tensor normed = backend.empty(backend.computeDType(), 1, h); Tensor rstd = backend.empty(DType.F32, 1);
                 Tensor logits = backend.empty(backend.computeDType(), 1, config.vocabSize())) {
                backend.rmsNorm(x.slice(n - 1, n), finalNorm.value(), (float) config.rmsNormEps(), config.family().unitOffsetRmsNorm(),
                        normed, rstd);
                backend.linear(normed, head.value(), null, logits);
                if (config.finalLogitSoftcap() > 0) backend.softcap(logits, (float) config.finalLogitSoftcap());
                try (Tensor host = backend.downloadF32(logits)) {
                    return host.toFloatArray();
                }
            }
        } finally {
            x.close();
        }
    }

    /** Options of the training loss: next-token prediction over each row, as transformers' ForCausalLMLoss. */
    public CceOptions lossOptions() {
        return CceOptions.defaults().withShift(1).withSoftcap((float) config.finalLogitSoftcap());
    }

    /**
     * Mean next-token cross-entropy of the pass and, with {@code backward}, every trainable
     * parameter's gradient accumulated; returns the loss.
     */
    public float loss(Pass pass, CceImpl impl, boolean backward) {
        return (float) loss(pass, impl, lossOptions(), 1f, backward);
    }

    /**
     * The loss of the pass under {@code options} (start from {@link #lossOptions()}: the shift and the
     * softcap are the model's) and, with {@code backward}, the gradient of {@code upstream ×} that loss
     * accumulated (+=) into every trainable parameter. A training step over several micro-batches calls
     * this with {@code Reduction.SUM} and upstream = 1 / (the step's target count), so that the
     * accumulated gradient is the whole step's mean, whatever the micro-batches hold.
     */
    public double loss(Pass pass, CceImpl impl, CceOptions options, float upstream, boolean backward) {
        return loss(pass, impl, options, upstream, backward, null);
    }

    /** {@link #loss(Pass, CceImpl, CceOptions, float, boolean)}, telling {@code ready} (when not null) of each group of finished gradients, in {@link #gradientOrder()}. */
    public double loss(Pass pass, CceImpl impl, CceOptions options, float upstream, boolean backward, GradientsReady ready) {
        Batch b = pass.batch;
        LinearCrossEntropy cce = backend.crossEntropy(impl);
        try (Tensor labels = Tensor.of(b.labels(), b.batch(), b.seqLen());
             CceForward f = cce.forward(new CceInputs(pass.normed.reshape(b.batch(), b.seqLen(), config.hiddenSize()),
                     head.value(), labels, null, null), options)) {
            if (!backward) return f.lossValue();
            try (Tensor dNormed = backend.zeros(DType.F32, b.batch(), b.seqLen(), config.hiddenSize());
                 Tensor up = Tensor.scalar(upstream)) {
                cce.backward(f, up, new CceGradients(dNormed, head.gradOrNull(), null));
                backward(pass, dNormed.reshape(b.tokens(), config.hiddenSize()), ready);
            }
            return f.lossValue();
        }
    }

    /** The loss sum of a pass and how many of its targets are the argmax of their logits (computed inside the loss, no logits). */
    public record Evaluation(double lossSum, long correct) {}

    /** {@link #loss} without a backward, with token accuracy: {@code options} should reduce by SUM. */
    public Evaluation evaluate(Pass pass, CceImpl impl, CceOptions options) {
        Batch b = pass.batch;
        LinearCrossEntropy cce = backend.crossEntropy(impl);
        try (Tensor labels = Tensor.of(b.labels(), b.batch(), b.seqLen());
             CceForward f = cce.forward(new CceInputs(pass.normed.reshape(b.batch(), b.seqLen(), config.hiddenSize()),
                     head.value(), labels, null, null), options.withAccuracy(true))) {
            return new Evaluation(f.lossValue(), f.correctCount());
        }
    }

    /** Backpropagates dNormed (the gradient at the final norm's output) through the whole model. */
    void backward(Pass pass, Tensor dNormed, GradientsReady ready) {
        List<List<Parameter>> order = ready == null ? null : gradientOrder();
        Batch b = pass.batch;
        int m = b.tokens(), h = config.hiddenSize();
        Tensor dx = backend.empty(backend.computeDType(), m, h);
        Tensor dIn = null;
        try {
            dIn = backend.empty(backend.computeDType(), m, h);
            if (dNormed.dtype() != backend.computeDType()) {
                try (Tensor dn = backend.empty(backend.computeDType(), m, h)) {
                    backend.copy(dNormed, dn);
                    backend.rmsNormBackward(dn, pass.hidden.get(layers.size()), finalNorm.value(), pass.rstd,
                            config.family().unitOffsetRmsNorm(), dx, finalNorm.gradOrNull());
                }
            } else {
                backend.rmsNormBackward(dNormed, pass.hidden.get(layers.size()), finalNorm.value(), pass.rstd,
                        config.family().unitOffsetRmsNorm(), dx, finalNorm.gradOrNull());
            }
            if (ready != null) ready.ready(order.get(0));
            for (int l = layers.size() - 1; l >= 0; l--) {
                layers.get(l).backward(backend, b, pass.seed, pass.hidden.get(l), pass.saved.get(l), dx, dIn);
                if (ready != null) ready.ready(order.get(layers.size() - l));
                Tensor t = dx;
                dx = dIn;
                dIn = t;
            }
            Tensor dEmbed = embed.gradOrNull();
            if (dEmbed != null) backend.embeddingBackward(b.inputIds(), dx, embedScale, dEmbed, paddingIdx);
            if (ready != null) ready.ready(order.get(order.size() - 1));
        } finally {
            dx.close();
            if (dIn != null) dIn.close();
        }
    }

    @Override
    public void close() {
        params.close();
    }
}
