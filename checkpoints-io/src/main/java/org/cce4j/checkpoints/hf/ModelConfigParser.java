package org.cce4j.checkpoints.hf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.core.tensor.DType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads config.json of the families in {@link ModelFamily}, written by transformers 4.x
 * ({@code rope_theta} + {@code rope_scaling}; Gemma 3's {@code rope_local_base_freq};
 * {@code sliding_window_pattern}; {@code torch_dtype}) or 5.x ({@code rope_parameters}, nested by
 * layer type for Gemma 3; {@code layer_types}; {@code dtype}), into a {@link ModelConfig}.
 * It follows transformers' own resolution: the family class's defaults for missing keys, an
 * explicit null as None, layer types derived as each config class derives them when absent, and
 * RoPE standardized as {@code RotaryEmbeddingConfigMixin} does (rope_scaling wins over
 * rope_parameters; a flat dict applies to every layer type). Anything we cannot run — another
 * architecture, a quantized checkpoint, an unknown RoPE or activation — is an error that says so.
 */
public final class ModelConfigParser {
    /** Far above any real model (the deepest have a few hundred), low enough that a hostile config cannot make us build billions of layers. */
    public static final int MAX_LAYERS = 4096;

    private ModelConfigParser() {}

    public static ModelConfig read(Path configJson) throws IOException {
        return parse(Json.readObject(configJson), configJson.toString());
    }

    public static ModelConfig parse(ObjectNode json, String source) {
        JsonFields f = new JsonFields(json, source);
        ModelFamily family = family(f);
        FamilyDefaults d = FamilyDefaults.of(family);
        String architecture = architecture(f, family);

        if (f.hasValue("quantization_config")) {
            JsonFields q = f.object("quantization_config");
            throw f.error("quantized checkpoints are not supported (quantization_config, quant_method "
                    + q.stringOrNull("quant_method", "unknown") + "); use the unquantized bf16/f16/f32 weights");
        }
        if ((family == ModelFamily.GEMMA || family == ModelFamily.GEMMA3) && f.bool("use_bidirectional_attention", false)) {
            throw f.error("use_bidirectional_attention=true (an embedding model) is not supported; cce4j trains causal language models");
        }

        int vocab = f.positiveInt("vocab_size", d.vocabSize());
        int hidden = f.positiveInt("hidden_size", d.hiddenSize());
        int intermediate = f.positiveInt("intermediate_size", d.intermediateSize());
        int layers = f.positiveInt("num_hidden_layers", d.layers());
        if (layers > MAX_LAYERS) {
            throw f.error("num_hidden_layers " + layers + " is implausible (more than " + MAX_LAYERS + ")");
        }
        int heads = f.positiveInt("num_attention_heads", d.heads());
        Integer kv = f.intOrNull("num_key_value_heads", d.kvHeads());
        int kvHeads = kv == null ? heads : kv;
        if (kvHeads <= 0) throw f.error("num_key_value_heads must be positive, found " + kvHeads);
        if (heads % kvHeads != 0) {
            throw f.error("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        Integer hd = f.intOrNull("head_dim", d.headDim());
        int headDim = hd == null ? hidden / heads : hd;
        if (headDim <= 0) throw f.error("head_dim must be positive, found " + headDim + " (hidden_size / num_attention_heads)");

        Double eps = f.doubleOrNull("rms_norm_eps", d.rmsNormEps());
        if (eps == null || !(eps > 0)) throw f.error("rms_norm_eps must be a positive number, found " + eps);
        Activation activation = activation(f, family, d);
        Integer maxPos = f.intOrNull("max_position_embeddings", d.maxPositions());
        boolean tie = f.bool("tie_word_embeddings", d.tieWordEmbeddings());

        boolean qkvBias;
        boolean oBias;
        switch (family) {
            case QWEN2 -> { qkvBias = true; oBias = false; }
            case MISTRAL -> { qkvBias = false; oBias = false; }
            default -> { qkvBias = f.bool("attention_bias", false); oBias = qkvBias; }
        }
        boolean mlpBias = family == ModelFamily.LLAMA && f.bool("mlp_bias", false);

        Integer slidingWindow = slidingWindow(f, family, d);
        List<LayerType> layerTypes = layerTypes(f, family, d, layers, slidingWindow);
        Map<LayerType, RopeParameters> rope = RopeConfigReader.read(f, family, d, headDim);

        double attnCap = 0;
        double finalCap = 0;
        Double qpas = null;
        if (family == ModelFamily.GEMMA2 || family == ModelFamily.GEMMA3) {
            attnCap = positiveOrZero(f, "attn_logit_softcapping", d.attnLogitSoftcap());
            finalCap = positiveOrZero(f, "final_logit_softcapping", d.finalLogitSoftcap());
            qpas = f.doubleOrNull("query_pre_attn_scalar", d.queryPreAttnScalar());
            if (qpas == null) qpas = (double) headDim;
            if (!(qpas > 0)) throw f.error("query_pre_attn_scalar must be positive, found " + qpas);
        }

        String dtypeName = f.stringOrNull("dtype", null);
        if (dtypeName == null) dtypeName = f.stringOrNull("torch_dtype", null);
        DType dtype = dtypeName == null ? null : DType.parseOrNull(dtypeName);

        return new ModelConfig(family, architecture, vocab, hidden, intermediate, layers, heads, kvHeads, headDim,
                eps, activation, maxPos == null ? 0 : maxPos, tie, qkvBias, oBias, mlpBias, layerTypes, slidingWindow, rope,
                attnCap, finalCap, qpas,
                f.intOrNull("bos_token_id", d.bos()), f.intList("eos_token_id", d.eos()), f.intOrNull("pad_token_id", d.pad()),
                dtype);
    }

    private static ModelFamily family(JsonFields f) {
        String modelType = f.stringOrNull("model_type", null);
        List<String> archs = f.stringList("architectures");
        String arch = archs == null || archs.isEmpty() ? null : archs.getFirst();
        ModelFamily family = modelType != null ? ModelFamily.ofModelType(modelType) : arch != null ? ModelFamily.ofArchitecture(arch) : null;
        if (family != null) return family;
        String what = (arch != null ? "architecture " + arch : "a model") + (modelType != null ? " (model_type " + modelType + ")" : "");
        if (modelType == null && arch == null) {
            throw f.error("neither model_type nor architectures is set, so the model cannot be identified");
        }
        String hint = "gemma3".equals(modelType)
                ? "; this is the multimodal Gemma 3, a text-only checkpoint has model_type gemma3_text"
                : "";
        throw f.error(what + " is not supported" + hint + "; supported: " + ModelFamily.supportedList());
    }

    private static String architecture(JsonFields f, ModelFamily family) {
        List<String> archs = f.stringList("architectures");
        if (archs == null || archs.isEmpty()) return family.causalLmArchitecture();
        String arch = archs.getFirst();
        if (!arch.equals(family.causalLmArchitecture())) {
            throw f.error("architecture " + arch + " is not supported: for model_type " + family.modelType()
                    + " cce4j reads " + family.causalLmArchitecture() + " checkpoints");
        }
        return arch;
    }

    /**
     * Gemma 2/3 read hidden_activation. Gemma 1 read hidden_activation in transformers 4.x (ignoring
     * hidden_act, which the original configs set to "gelu") and reads hidden_act in 5.x, whose
     * configs no longer carry hidden_activation: hidden_activation wins when present (4.x files),
     * hidden_act otherwise (5.x files).
     */
    private static Activation activation(JsonFields f, ModelFamily family, FamilyDefaults d) {
        String key = switch (family) {
            case GEMMA2, GEMMA3 -> "hidden_activation";
            case GEMMA -> f.hasValue("hidden_activation") ? "hidden_activation" : "hidden_act";
            default -> "hidden_act";
        };
        String name = f.stringOrNull(key, d.activation());
        if (name == null) name = d.activation();
        Activation a = Activation.ofHfName(name);
        if (a == null) throw f.error(key + " '" + name + "' is not supported (supported: silu, gelu_pytorch_tanh, gelu_new, gelu, relu)");
        return a;
    }

    private static Integer slidingWindow(JsonFields f, ModelFamily family, FamilyDefaults d) {
        return switch (family) {
            case LLAMA, GEMMA -> null;
            case QWEN2, QWEN3 -> f.bool("use_sliding_window", false) ? f.intOrNull("sliding_window", d.slidingWindow()) : null;
            default -> f.intOrNull("sliding_window", d.slidingWindow());
        };
    }

    private static List<LayerType> layerTypes(JsonFields f, ModelFamily family, FamilyDefaults d, int layers, Integer window) {
        List<String> names = f.stringList("layer_types");
        List<LayerType> types = new ArrayList<>(layers);
        if (names != null) {
            if (names.size() != layers) {
                throw f.error("layer_types has " + names.size() + " entries for num_hidden_layers " + layers);
            }
            for (int i = 0; i < layers; i++) {
                LayerType t = LayerType.ofHfName(names.get(i));
                if (t == null) {
                    throw f.error("layer_types[" + i + "] '" + names.get(i) + "' is not supported (full_attention or sliding_attention)");
                }
                types.add(t);
            }
        } else {
            int maxWindowLayers = f.intValue("max_window_layers", d.maxWindowLayers());
            int pattern = f.intValue("sliding_window_pattern", d.slidingWindowPattern());
            for (int i = 0; i < layers; i++) {
                boolean sliding = switch (family) {
                    case LLAMA, GEMMA -> false;
                    case MISTRAL -> window != null;
                    case QWEN2, QWEN3 -> window != null && i >= maxWindowLayers;
                    case GEMMA2, GEMMA3 -> pattern <= 0 || (i + 1) % pattern != 0;
                };
                types.add(sliding ? LayerType.SLIDING_ATTENTION : LayerType.FULL_ATTENTION);
            }
        }
        if (window != null && window <= 0) throw f.error("sliding_window must be positive, found " + window);
        return types;
    }

    private static double positiveOrZero(JsonFields f, String key, Double dflt) {
        Double v = f.doubleOrNull(key, dflt);
        if (v == null) return 0;
        if (!(v > 0)) throw f.error(key + " must be positive or null, found " + v);
        return v;
    }
}
