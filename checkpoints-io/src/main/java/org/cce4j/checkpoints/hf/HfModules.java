package org.cce4j.checkpoints.hf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The modules a transformers decoder of a config is made of, by their module paths, and the
 * parameters each one holds: the one statement of a checkpoint's names and shapes, which the
 * loader checks files against and the model builds its layers from (so that an adapter can attach
 * to {@code model.layers.3.self_attn.q_proj} by the name PEFT uses). Parameters come in the
 * modules' registration order, what {@code model.state_dict()} lists; with tied embeddings there is
 * no lm_head, as {@code save_pretrained} writes it. Linear weights are [out, in].
 * <pre>
 *   model.embed_tokens.weight                          [V, D]
 *   model.layers.{i}.self_attn.{q,k,v,o}_proj.weight   [H*hd, D] [KV*hd, D] [KV*hd, D] [D, H*hd]
 *   model.layers.{i}.self_attn.{q,k}_norm.weight       [hd]          (Qwen3, Gemma 3)
 *   model.layers.{i}.mlp.{gate,up,down}_proj.weight    [I, D] [I, D] [D, I]
 *   model.layers.{i}.{input,post_attention}_layernorm.weight          [D]
 *   model.layers.{i}.{pre,post}_feedforward_layernorm.weight          [D]  (Gemma 2, 3)
 *   model.norm.weight                                  [D]
 *   lm_head.weight                                     [V, D]        (untied only)
 * </pre>
 */
public record HfModules(Embedding embedTokens, List<Layer> layers, Norm finalNorm, Linear lmHead) {

    /** A linear projection: weight [out, in], and a bias [out] when the config has one. */
    public record Linear(String path, long outFeatures, long inFeatures, boolean hasBias) {
        public String weight() {
            return path + ".weight";
        }

        public String bias() {
            return path + ".bias";
        }

        /** The last segment of the path ({@code q_proj}): what PEFT's target_modules match. */
        public String shortName() {
            return path.substring(path.lastIndexOf('.') + 1);
        }
    }

    /** An RMSNorm gain [size]. */
    public record Norm(String path, long size) {
        public String weight() {
            return path + ".weight";
        }
    }

    /** The token embedding [vocab, hidden]. */
    public record Embedding(String path, long vocab, long hidden) {
        public String weight() {
            return path + ".weight";
        }
    }

    /**
     * One decoder layer. {@code preFeedforwardNorm}/{@code postFeedforwardNorm} exist with sandwich
     * norms (Gemma 2, 3), {@code qNorm}/{@code kNorm} with per-head q/k norms (Qwen3, Gemma 3); else null.
     */
    public record Layer(int index, Linear qProj, Linear kProj, Linear vProj, Linear oProj,
                        Linear gateProj, Linear upProj, Linear downProj,
                        Norm inputNorm, Norm postAttentionNorm, Norm preFeedforwardNorm, Norm postFeedforwardNorm,
                        Norm qNorm, Norm kNorm) {

        /** The projections in registration order: q, k, v, o, gate, up, down. */
        public List<Linear> linears() {
            return List.of(qProj, kProj, vProj, oProj, gateProj, upProj, downProj);
        }
    }

    public HfModules {
        layers = List.copyOf(layers);
    }

    public static HfModules of(ModelConfig c) {
        return of(c, c.numHiddenLayers());
    }

    /** The modules of the first {@code layerCount} layers only. */
    public static HfModules of(ModelConfig c, int layerCount) {
        long d = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long inter = c.intermediateSize();
        boolean sandwich = c.family().sandwichNorms(), qk = c.family().qkNorm();
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < layerCount; i++) {
            String p = layerPrefix(i);
            layers.add(new Layer(i,
                    new Linear(p + "self_attn.q_proj", q, d, c.attentionBias()),
                    new Linear(p + "self_attn.k_proj", kv, d, c.attentionBias()),
                    new Linear(p + "self_attn.v_proj", kv, d, c.attentionBias()),
                    new Linear(p + "self_attn.o_proj", d, q, c.attentionOutputBias()),
                    new Linear(p + "mlp.gate_proj", inter, d, c.mlpBias()),
                    new Linear(p + "mlp.up_proj", inter, d, c.mlpBias()),
                    new Linear(p + "mlp.down_proj", d, inter, c.mlpBias()),
                    new Norm(p + "input_layernorm", d),
                    new Norm(p + "post_attention_layernorm", d),
                    sandwich ? new Norm(p + "pre_feedforward_layernorm", d) : null,
                    sandwich ? new Norm(p + "post_feedforward_layernorm", d) : null,
                    qk ? new Norm(p + "self_attn.q_norm", c.headDim()) : null,
                    qk ? new Norm(p + "self_attn.k_norm", c.headDim()) : null));
        }
        return new HfModules(new Embedding("model.embed_tokens", c.vocabSize(), d), layers, new Norm("model.norm", d),
                c.tieWordEmbeddings() ? null : new Linear("lm_head", c.vocabSize(), d, false));
    }

    public static String layerPrefix(int i) {
        return "model.layers." + i + ".";
    }

    /** Every linear projection of the decoder layers (lm_head excluded), in registration order. */
    public List<Linear> layerLinears() {
        List<Linear> all = new ArrayList<>();
        for (Layer l : layers) all.addAll(l.linears());
        return all;
    }

    /** Every parameter's name and shape, in {@code state_dict} order. */
    public Map<String, long[]> parameterShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put(embedTokens.weight(), new long[] {embedTokens.vocab(), embedTokens.hidden()});
        for (Layer l : layers) {
            // registration order inside a layer: self_attn (q, k, v, o, q_norm, k_norm), mlp, then the norms
            linear(m, l.qProj);
            linear(m, l.kProj);
            linear(m, l.vProj);
            linear(m, l.oProj);
            norm(m, l.qNorm);
            norm(m, l.kNorm);
            linear(m, l.gateProj);
            linear(m, l.upProj);
            linear(m, l.downProj);
            norm(m, l.inputNorm);
            norm(m, l.postAttentionNorm);
            norm(m, l.preFeedforwardNorm);
            norm(m, l.postFeedforwardNorm);
        }
        norm(m, finalNorm);
        if (lmHead != null) linear(m, lmHead);
        return Collections.unmodifiableMap(m);
    }

    private static void linear(Map<String, long[]> m, Linear l) {
        m.put(l.weight(), new long[] {l.outFeatures(), l.inFeatures()});
        if (l.hasBias()) m.put(l.bias(), new long[] {l.outFeatures()});
    }

    private static void norm(Map<String, long[]> m, Norm n) {
        if (n != null) m.put(n.weight(), new long[] {n.size()});
    }
}
