package org.cce4j.checkpoints.hf;

import org.cce4j.core.tensor.DType;

import java.util.List;
import java.util.Map;

/**
 * Everything the forward pass needs from a Hugging Face config.json, resolved: family defaults
 * applied, 4.x and 5.x spellings unified, per-layer attention kinds and RoPE spelled out.
 * Read it with {@link ModelConfigParser}.
 * <pre>
 *   layer i:  x += attn(norm(x))          attention kind layerTypes[i], RoPE rope(i),
 *             x += mlp(norm(x))           scores * attentionScale(), softcapped by attnLogitSoftcap
 *   logits = norm(x) . lm_head^T          (embed_tokens when tieWordEmbeddings), softcapped by finalLogitSoftcap
 * </pre>
 *
 * @param architecture        architectures[0], e.g. "LlamaForCausalLM"
 * @param numKeyValueHeads    grouped-query attention: numAttentionHeads is a multiple of it
 * @param headDim             per-head size (not always hidden/heads: Gemma, Qwen3)
 * @param attentionBias       q, k and v projections have a bias
 * @param attentionOutputBias o_proj has a bias
 * @param mlpBias             gate/up/down projections have biases (Llama's mlp_bias)
 * @param layerTypes          one per layer
 * @param slidingWindow       the window of SLIDING_ATTENTION layers (a token sees itself and the
 *                            slidingWindow - 1 before it, as transformers' masks do); null when none
 * @param rope                RoPE parameters by layer type (every type that occurs has one)
 * @param attnLogitSoftcap    s in s*tanh(scores/s) (Gemma 2); 0 when off
 * @param finalLogitSoftcap   the same on the logits (Gemma 2); 0 when off
 * @param queryPreAttnScalar  Gemma 2/3: scores are scaled by queryPreAttnScalar^-1/2; null elsewhere
 * @param torchDtype          the dtype the checkpoint was saved in, if it says
 */
public record ModelConfig(
        ModelFamily family,
        String architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        Activation hiddenActivation,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean attentionOutputBias,
        boolean mlpBias,
        List<LayerType> layerTypes,
        Integer slidingWindow,
        Map<LayerType, RopeParameters> rope,
        double attnLogitSoftcap,
        double finalLogitSoftcap,
        Double queryPreAttnScalar,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        DType torchDtype) {

    public ModelConfig {
        layerTypes = List.copyOf(layerTypes);
        rope = Map.copyOf(rope);
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
    }

    public String modelType() {
        return family.modelType();
    }

    public LayerType layerType(int layer) {
        return layerTypes.get(layer);
    }

    /** The RoPE of layer {@code layer}. */
    public RopeParameters rope(int layer) {
        return rope.get(layerTypes.get(layer));
    }

    /** The factor on q.k: queryPreAttnScalar^-1/2 for Gemma 2/3, headDim^-1/2 otherwise. */
    public double attentionScale() {
        return 1.0 / Math.sqrt(queryPreAttnScalar != null ? queryPreAttnScalar : headDim);
    }

    /** sqrt(hiddenSize) for the Gemma families, 1 otherwise (transformers rounds it to the activation dtype). */
    public double embeddingScale() {
        return family.scalesEmbeddings() ? Math.sqrt(hiddenSize) : 1.0;
    }

    public int queriesPerKeyValueHead() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** Total parameter count implied by the shapes (tied embeddings counted once). */
    public long parameterCount() {
        long global = 0;
        long perLayer = 0;
        for (var e : HfModules.of(this, 1).parameterShapes().entrySet()) {
            long p = 1;
            for (long d : e.getValue()) p = Math.multiplyExact(p, d);
            if (e.getKey().startsWith(HfModules.layerPrefix(0))) perLayer += p; else global += p;
        }
        return Math.addExact(global, Math.multiplyExact(perLayer, (long) numHiddenLayers));
    }

    /** A few lines for listings (the inspect command). */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(architecture).append(" (").append(modelType()).append("): ")
                .append(numHiddenLayers).append(" layers, hidden ").append(hiddenSize)
                .append(", intermediate ").append(intermediateSize)
                .append(", heads ").append(numAttentionHeads).append(" (kv ").append(numKeyValueHeads).append(") x ").append(headDim)
                .append(", vocab ").append(vocabSize).append('\n');
        sb.append("  activation ").append(hiddenActivation.name().toLowerCase())
                .append(", rms_norm_eps ").append(rmsNormEps)
                .append(", tie_word_embeddings ").append(tieWordEmbeddings)
                .append(", max_position_embeddings ").append(maxPositionEmbeddings);
        if (torchDtype != null) sb.append(", dtype ").append(torchDtype.shortName());
        sb.append('\n');
        long sliding = layerTypes.stream().filter(t -> t == LayerType.SLIDING_ATTENTION).count();
        sb.append("  attention: ").append(numHiddenLayers - sliding).append(" full");
        if (sliding > 0) sb.append(", ").append(sliding).append(" sliding (window ").append(slidingWindow).append(')');
        if (attentionBias || attentionOutputBias) sb.append(", bias");
        if (attnLogitSoftcap > 0) sb.append(", attn softcap ").append(attnLogitSoftcap);
        if (finalLogitSoftcap > 0) sb.append(", final softcap ").append(finalLogitSoftcap);
        if (queryPreAttnScalar != null) sb.append(", query_pre_attn_scalar ").append(queryPreAttnScalar);
        sb.append('\n');
        for (LayerType t : LayerType.values()) {
            if (rope.containsKey(t) && layerTypes.contains(t)) {
                sb.append("  rope ").append(t.hfName()).append(": ").append(rope.get(t)).append('\n');
            }
        }
        sb.append("  parameters ").append(String.format("%,d", parameterCount()));
        return sb.toString();
    }
}
