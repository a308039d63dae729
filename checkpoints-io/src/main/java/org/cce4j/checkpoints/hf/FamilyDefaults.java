package org.cce4j.checkpoints.hf;

import java.util.List;

/**
 * The defaults of each family's transformers config class (the same in 4.x and 5.x for the
 * fields we read). They matter: {@code save_pretrained} omits values equal to the class
 * defaults, so a Gemma config.json often has no tie_word_embeddings and a Qwen3 one no head_dim
 * override. A null head_dim means hidden_size / num_attention_heads; a null kvHeads means
 * num_attention_heads; a null slidingWindow means none.
 */
record FamilyDefaults(
        int vocabSize, int hiddenSize, int intermediateSize, int layers, int heads, Integer kvHeads, Integer headDim,
        String activation, int maxPositions, double rmsNormEps, boolean tieWordEmbeddings,
        double ropeTheta, double localRopeTheta,
        Integer bos, List<Integer> eos, Integer pad,
        Integer slidingWindow, int maxWindowLayers, int slidingWindowPattern,
        Double queryPreAttnScalar, Double attnLogitSoftcap, Double finalLogitSoftcap) {

    static FamilyDefaults of(ModelFamily f) {
        return switch (f) {
            case LLAMA -> new FamilyDefaults(32000, 4096, 11008, 32, 32, null, null, "silu", 2048, 1e-6, false,
                    10000.0, 10000.0, 1, List.of(2), null, null, 0, 0, null, null, null);
            case MISTRAL -> new FamilyDefaults(32000, 4096, 14336, 32, 32, 8, null, "silu", 4096 * 32, 1e-6, false,
                    10000.0, 10000.0, 1, List.of(2), null, 4096, 0, 0, null, null, null);
            case QWEN2 -> new FamilyDefaults(151936, 4096, 22016, 32, 32, 32, null, "silu", 32768, 1e-6, false,
                    10000.0, 10000.0, null, null, null, 4096, 28, 0, null, null, null);
            case QWEN3 -> new FamilyDefaults(151936, 4096, 22016, 32, 32, 32, 128, "silu", 32768, 1e-6, false,
                    10000.0, 10000.0, null, null, null, 4096, 28, 0, null, null, null);
            case GEMMA -> new FamilyDefaults(256000, 3072, 24576, 28, 16, 16, 256, "gelu_pytorch_tanh", 8192, 1e-6, true,
                    10000.0, 10000.0, 2, List.of(1), 0, null, 0, 0, null, null, null);
            case GEMMA2 -> new FamilyDefaults(256000, 2304, 9216, 26, 8, 4, 256, "gelu_pytorch_tanh", 8192, 1e-6, true,
                    10000.0, 10000.0, 2, List.of(1), 0, 4096, 0, 2, 256.0, 50.0, 30.0);
            case GEMMA3 -> new FamilyDefaults(262208, 2304, 9216, 26, 8, 4, 256, "gelu_pytorch_tanh", 131072, 1e-6, true,
                    1_000_000.0, 10000.0, 2, List.of(1), 0, 4096, 0, 6, 256.0, null, null);
        };
    }
}
