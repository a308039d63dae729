package org.cce4j.checkpoints.hf;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameter names and shapes a transformers checkpoint of a config holds, in the modules'
 * registration order (what {@code model.state_dict()} lists). With tied embeddings there is no
 * lm_head.weight, as {@code save_pretrained} writes it. Linear weights are [out, in].
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
public final class HfWeightNames {
    private HfWeightNames() {}

    public static String layer(int i) {
        return "model.layers." + i + ".";
    }

    public static Map<String, long[]> expected(ModelConfig c) {
        return expected(c, c.numHiddenLayers());
    }

    /** The same for the first {@code layers} layers only. */
    static Map<String, long[]> expected(ModelConfig c, int layers) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long d = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long inter = c.intermediateSize();
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize(), d});
        for (int i = 0; i < layers; i++) {
            String p = layer(i);
            linear(m, p + "self_attn.q_proj", q, d, c.attentionBias());
            linear(m, p + "self_attn.k_proj", kv, d, c.attentionBias());
            linear(m, p + "self_attn.v_proj", kv, d, c.attentionBias());
            linear(m, p + "self_attn.o_proj", d, q, c.attentionOutputBias());
            if (c.family().qkNorm()) {
                m.put(p + "self_attn.q_norm.weight", new long[] {c.headDim()});
                m.put(p + "self_attn.k_norm.weight", new long[] {c.headDim()});
            }
            linear(m, p + "mlp.gate_proj", inter, d, c.mlpBias());
            linear(m, p + "mlp.up_proj", inter, d, c.mlpBias());
            linear(m, p + "mlp.down_proj", d, inter, c.mlpBias());
            m.put(p + "input_layernorm.weight", new long[] {d});
            m.put(p + "post_attention_layernorm.weight", new long[] {d});
            if (c.family().sandwichNorms()) {
                m.put(p + "pre_feedforward_layernorm.weight", new long[] {d});
                m.put(p + "post_feedforward_layernorm.weight", new long[] {d});
            }
        }
        m.put("model.norm.weight", new long[] {d});
        if (!c.tieWordEmbeddings()) m.put("lm_head.weight", new long[] {c.vocabSize(), d});
        return m;
    }

    private static void linear(Map<String, long[]> m, String module, long out, long in, boolean bias) {
        m.put(module + ".weight", new long[] {out, in});
        if (bias) m.put(module + ".bias", new long[] {out});
    }
}
