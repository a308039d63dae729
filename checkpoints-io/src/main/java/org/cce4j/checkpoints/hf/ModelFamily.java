package org.cce4j.checkpoints.hf;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The model families cce4j trains, keyed by their Hugging Face {@code model_type}, with the
 * architecture traits that config.json does not spell out because they are fixed by the family's
 * modeling code in transformers:
 * <pre>
 *   family   embeddings x sqrt(D)  RMSNorm w   extra norms        q/k RMSNorm  q,k,v bias / o bias
 *   llama    no                    w           -                  no           attention_bias / attention_bias
 *   mistral  no                    w           -                  no           no / no
 *   qwen2    no                    w           -                  no           yes / no
 *   qwen3    no                    w           -                  yes          attention_bias / attention_bias
 *   gemma    yes                   (1 + w)     -                  no           attention_bias / attention_bias
 *   gemma2   yes                   (1 + w)     pre/post FFN, post-attention   no   attention_bias
 *   gemma3   yes                   (1 + w)     pre/post FFN, post-attention   yes  attention_bias
 * </pre>
 */
public enum ModelFamily {
    LLAMA("llama", "LlamaForCausalLM"),
    MISTRAL("mistral", "MistralForCausalLM"),
    QWEN2("qwen2", "Qwen2ForCausalLM"),
    QWEN3("qwen3", "Qwen3ForCausalLM"),
    GEMMA("gemma", "GemmaForCausalLM"),
    GEMMA2("gemma2", "Gemma2ForCausalLM"),
    GEMMA3("gemma3_text", "Gemma3ForCausalLM");

    private final String modelType;
    private final String causalLm;

    ModelFamily(String modelType, String causalLm) {
        this.modelType = modelType;
        this.causalLm = causalLm;
    }

    /** config.json's {@code model_type}. */
    public String modelType() {
        return modelType;
    }

    /** The transformers class whose checkpoints we read and write ({@code architectures[0]}). */
    public String causalLmArchitecture() {
        return causalLm;
    }

    public boolean isGemma() {
        return this == GEMMA || this == GEMMA2 || this == GEMMA3;
    }

    /** Token embeddings are multiplied by sqrt(hidden_size) (in the activation dtype). */
    public boolean scalesEmbeddings() {
        return isGemma();
    }

    /** RMSNorm multiplies by (1 + weight), with weights stored as offsets from 1. */
    public boolean unitOffsetRmsNorm() {
        return isGemma();
    }

    /** Four norms per layer: input, post-attention (applied to the attention output), pre- and post-feedforward. */
    public boolean sandwichNorms() {
        return this == GEMMA2 || this == GEMMA3;
    }

    /** RMSNorm over head_dim applied to queries and keys before RoPE (q_norm, k_norm). */
    public boolean qkNorm() {
        return this == QWEN3 || this == GEMMA3;
    }

    public static ModelFamily ofModelType(String modelType) {
        for (ModelFamily f : values()) {
            if (f.modelType.equals(modelType)) return f;
        }
        return null;
    }

    public static ModelFamily ofArchitecture(String architecture) {
        for (ModelFamily f : values()) {
            if (f.causalLm.equals(architecture)) return f;
        }
        return null;
    }

    public static String supportedList() {
        return Arrays.stream(values()).map(f -> f.causalLm + " (" + f.modelType + ")").collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
