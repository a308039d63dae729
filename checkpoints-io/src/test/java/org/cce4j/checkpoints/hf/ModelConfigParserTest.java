package org.cce4j.checkpoints.hf;

import org.cce4j.checkpoints.Json;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * config.json as published on the Hub by transformers 4.x (copied from the model repositories),
 * and the same models in transformers 5's spelling; the 5.x files that transformers 5.17 wrote
 * itself are checked in {@code PythonFixturesTest}.
 */
class ModelConfigParserTest {
    static ModelConfig parse(String json) {
        return ModelConfigParser.parse(Json.parseObject(json.getBytes(), "config.json"), "config.json");
    }

    static final String LLAMA_31_8B = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
             "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
             "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
                              "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
             "use_cache": true, "vocab_size": 128256}""";

    static final String LLAMA_31_8B_V5 = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 128000,
             "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu", "hidden_size": 4096,
             "intermediate_size": 14336, "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
             "rope_parameters": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
                                 "rope_theta": 500000.0, "rope_type": "llama3"},
             "tie_word_embeddings": false, "dtype": "bfloat16", "transformers_version": "5.0.0", "vocab_size": 128256}""";

    @Test
    void llama31() {
        ModelConfig c = parse(LLAMA_31_8B);
        assertEquals(ModelFamily.LLAMA, c.family());
        assertEquals(128, c.headDim());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(Activation.SILU, c.hiddenActivation());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(DType.BF16, c.torchDtype());
        RopeParameters r = c.rope(0);
        assertEquals(RopeParameters.Type.LLAMA3, r.type());
        assertEquals(500000.0, r.theta());
        assertEquals(8.0, r.factor());
        assertEquals(8192, r.originalMaxPositionEmbeddings());
        assertEquals(1.0, r.lowFreqFactor());
        assertEquals(4.0, r.highFreqFactor());
        assertTrue(c.layerTypes().stream().allMatch(t -> t == LayerType.FULL_ATTENTION));
        assertNull(c.slidingWindow());
        assertEquals(1 / Math.sqrt(128), c.attentionScale(), 1e-15);
        assertEquals(8_030_261_248L, c.parameterCount(), "Llama 3.1 8B's published parameter count");
        assertEquals(c, parse(LLAMA_31_8B_V5), "the 4.x and 5.x spellings are the same model");
    }

    @Test
    void llama32TiedAndLlama2Defaults() {
        ModelConfig c = parse("""
                {"architectures": ["LlamaForCausalLM"], "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64,
                 "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 8192, "max_position_embeddings": 131072,
                 "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
                 "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                 "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256}""");
        assertTrue(c.tieWordEmbeddings());
        assertEquals(32.0, c.rope(3).factor());
        assertEquals(1_235_814_400L, c.parameterCount(), "Llama 3.2 1B");
        ModelConfig l2 = parse("""
                {"architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
                 "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096, "model_type": "llama",
                 "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32, "pretraining_tp": 1,
                 "rms_norm_eps": 1e-05, "rope_scaling": null, "tie_word_embeddings": false, "torch_dtype": "float16", "use_cache": true,
                 "vocab_size": 32000}""");
        assertEquals(RopeParameters.plain(10000.0), l2.rope(0), "rope_theta absent: LlamaConfig's default");
        assertEquals(DType.F16, l2.torchDtype());
        assertEquals(6_738_415_616L, l2.parameterCount(), "Llama 2 7B");
    }

    static final String GEMMA2_2B = """
            {"architectures": ["Gemma2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "attn_logit_softcapping": 50.0,
             "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": 1, "final_logit_softcapping": 30.0, "head_dim": 256,
             "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 2304, "initializer_range": 0.02,
             "intermediate_size": 9216, "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 8,
             "num_hidden_layers": 26, "num_key_value_heads": 4, "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
             "rope_theta": 10000.0, "sliding_window": 4096, "torch_dtype": "float32", "transformers_version": "4.42.4", "use_cache": true,
             "vocab_size": 256000}""";

    @Test
    void gemma2() {
        ModelConfig c = parse(GEMMA2_2B);
        assertEquals(ModelFamily.GEMMA2, c.family());
        assertTrue(c.tieWordEmbeddings(), "absent: Gemma2Config's default");
        assertEquals(50.0, c.attnLogitSoftcap());
        assertEquals(30.0, c.finalLogitSoftcap());
        assertEquals(1 / 16.0, c.attentionScale());
        assertEquals(Math.sqrt(2304), c.embeddingScale());
        assertEquals(4096, c.slidingWindow());
        for (int i = 0; i < 26; i++) {
            assertEquals(i % 2 == 0 ? LayerType.SLIDING_ATTENTION : LayerType.FULL_ATTENTION, c.layerType(i), "layer " + i);
        }
        assertEquals(Activation.GELU_TANH, c.hiddenActivation());
        assertEquals(2_614_341_888L, c.parameterCount(), "Gemma 2 2B");
        assertEquals(List.of(1), c.eosTokenIds());
        assertEquals(0, c.padTokenId());
    }

    static final String GEMMA3_1B = """
            {"architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "attn_logit_softcapping": null,
             "bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": [1, 106], "final_logit_softcapping": null,
             "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "initializer_range": 0.02,
             "intermediate_size": 6912, "max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4,
             "num_hidden_layers": 26, "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
             "rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512,
             "sliding_window_pattern": 6, "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0", "use_cache": true,
             "vocab_size": 262144}""";

    @Test
    void gemma3Text() {
        ModelConfig c = parse(GEMMA3_1B);
        assertEquals(ModelFamily.GEMMA3, c.family());
        assertEquals(0.0, c.attnLogitSoftcap(), "explicit null: off");
        assertEquals(0.0, c.finalLogitSoftcap());
        List<Integer> full = new ArrayList<>();
        for (int i = 0; i < 26; i++) if (c.layerType(i) == LayerType.FULL_ATTENTION) full.add(i);
        assertEquals(List.of(5, 11, 17, 23), full);
        assertEquals(RopeParameters.plain(1_000_000.0), c.rope().get(LayerType.FULL_ATTENTION));
        assertEquals(RopeParameters.plain(10_000.0), c.rope().get(LayerType.SLIDING_ATTENTION));
        assertEquals(RopeParameters.plain(10_000.0), c.rope(0));
        assertEquals(RopeParameters.plain(1_000_000.0), c.rope(5));
        assertEquals(999_885_952L, c.parameterCount(), "Gemma 3 1B");

        // Gemma 3 4B's text part: linear scaling on the global layers only; the same in 5.x's nested form.
        String v4 = GEMMA3_1B.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"}");
        String v5 = GEMMA3_1B.replace("\"rope_local_base_freq\": 10000, \"rope_scaling\": null, \"rope_theta\": 1000000,",
                "\"rope_parameters\": {\"full_attention\": {\"factor\": 8.0, \"rope_theta\": 1000000.0, \"rope_type\": \"linear\"},"
                        + " \"sliding_attention\": {\"rope_theta\": 10000.0, \"rope_type\": \"default\"}},");
        ModelConfig a = parse(v4);
        ModelConfig b = parse(v5);
        assertEquals(RopeParameters.Type.LINEAR, a.rope(5).type());
        assertEquals(8.0, a.rope(5).factor());
        assertEquals(1_000_000.0, a.rope(5).theta());
        assertEquals(RopeParameters.plain(10_000.0), a.rope(0));
        assertEquals(a, b);
    }

    @Test
    void gemma1Activation() {
        String base = """
                {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "hidden_size": 3072, "intermediate_size": 24576,
                 "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 16, "head_dim": 256, "vocab_size": 256000 %s}""";
        assertEquals(Activation.GELU_TANH, parse(base.formatted(", \"hidden_act\": \"gelu\", \"hidden_activation\": \"gelu_pytorch_tanh\"")).hiddenActivation());
        assertEquals(Activation.GELU_TANH, parse(base.formatted("")).hiddenActivation());
        assertEquals(Activation.GELU, parse(base.formatted(", \"hidden_act\": \"gelu\"")).hiddenActivation(), "5.x reads hidden_act");
        ModelConfig c = parse(base.formatted(""));
        assertEquals(8_537_680_896L, c.parameterCount(), "Gemma 7B");
        assertEquals(1 / 16.0, c.attentionScale());
    }

    @Test
    void mistralAndQwen() {
        ModelConfig m01 = parse("""
                {"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
                 "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
                 "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
                 "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
                 "use_cache": true, "vocab_size": 32000}""");
        assertEquals(4096, m01.slidingWindow());
        assertTrue(m01.layerTypes().stream().allMatch(t -> t == LayerType.SLIDING_ATTENTION));
        assertEquals(7_241_732_096L, m01.parameterCount(), "Mistral 7B");
        ModelConfig m03 = parse("""
                {"architectures": ["MistralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336, "model_type": "mistral",
                 "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
                 "rope_theta": 1000000.0, "sliding_window": null, "vocab_size": 32768}""");
        assertNull(m03.slidingWindow());
        assertTrue(m03.layerTypes().stream().allMatch(t -> t == LayerType.FULL_ATTENTION));

        ModelConfig q25 = parse("""
                {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
                 "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
                 "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
                 "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                 "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
                 "use_sliding_window": false, "vocab_size": 151936}""");
        assertNull(q25.slidingWindow(), "use_sliding_window false");
        assertTrue(q25.attentionBias());
        assertTrue(!q25.attentionOutputBias());
        assertEquals(64, q25.headDim());
        assertEquals(494_032_768L, q25.parameterCount(), "Qwen2.5 0.5B");

        ModelConfig q3 = parse("""
                {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
                 "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
                 "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
                 "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
                 "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
                 "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}""");
        assertTrue(q3.family().qkNorm());
        assertEquals(128, q3.headDim());
        assertEquals(596_049_920L, q3.parameterCount(), "Qwen3 0.6B");
    }

    private static String error(String json) {
        return assertThrows(InvalidInputException.class, () -> parse(json)).getMessage();
    }

    @Test
    void clearErrors() {
        assertTrue(error("{\"architectures\": [\"GPTNeoXForCausalLM\"], \"model_type\": \"gpt_neox\"}")
                .contains("architecture GPTNeoXForCausalLM (model_type gpt_neox) is not supported; supported: LlamaForCausalLM (llama)"));
        assertTrue(error("{\"architectures\": [\"Gemma3ForConditionalGeneration\"], \"model_type\": \"gemma3\", \"text_config\": {}}")
                .contains("multimodal Gemma 3"));
        assertTrue(error(LLAMA_31_8B.replace("LlamaForCausalLM", "LlamaForSequenceClassification"))
                .contains("architecture LlamaForSequenceClassification is not supported: for model_type llama cce4j reads LlamaForCausalLM"));
        assertTrue(error("{\"hidden_size\": 8}").contains("neither model_type nor architectures"));
        assertTrue(error(LLAMA_31_8B.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5"))
                .contains("num_attention_heads 32 is not a multiple of num_key_value_heads 5"));
        assertTrue(error(LLAMA_31_8B.replace("\"hidden_size\": 4096", "\"hidden_size\": \"4096\""))
                .contains("hidden_size must be an integer, found the string \"4096\""));
        assertTrue(error(LLAMA_31_8B.replace("\"hidden_size\": 4096", "\"hidden_size\": 0")).contains("hidden_size must be positive"));
        assertTrue(error(LLAMA_31_8B.replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"su\"")).contains("rope_type 'su' is not supported"));
        assertTrue(error(LLAMA_31_8B.replace("\"low_freq_factor\": 1.0,", "")).contains("llama3 needs low_freq_factor and high_freq_factor"));
        assertTrue(error(LLAMA_31_8B.replace("\"factor\": 8.0,", "")).contains("rope_type llama3 needs a factor"));
        assertTrue(error(LLAMA_31_8B.replace("\"hidden_act\": \"silu\"", "\"hidden_act\": \"swiglu\"")).contains("hidden_act 'swiglu' is not supported"));
        assertTrue(error(LLAMA_31_8B.replace("\"use_cache\": true", "\"quantization_config\": {\"quant_method\": \"awq\"}"))
                .contains("quantized checkpoints are not supported (quantization_config, quant_method awq)"));
        assertTrue(error(GEMMA2_2B.replace("\"num_hidden_layers\": 26", "\"num_hidden_layers\": 3, \"layer_types\": [\"full_attention\"]"))
                .contains("layer_types has 1 entries for num_hidden_layers 3"));
        assertTrue(error(GEMMA2_2B.replace("\"num_hidden_layers\": 26", "\"num_hidden_layers\": 1, \"layer_types\": [\"chunked_attention\"]"))
                .contains("layer_types[0] 'chunked_attention' is not supported"));
        assertTrue(error(LLAMA_31_8B.replace("\"vocab_size\": 128256", "\"vocab_size\": 1, \"vocab_size\": 2"))
                .contains("not valid JSON: Duplicate"));
        String msg = assertThrows(InvalidInputException.class, () -> Json.parseObject("{\"a\": ".getBytes(), "config.json")).getMessage();
        assertTrue(msg.startsWith("config.json: not valid JSON"), msg);
        assertTrue(assertThrows(InvalidInputException.class, () -> Json.parseObject("[1]".getBytes(), "config.json")).getMessage()
                .contains("expected a JSON object, found array"));
    }

    @Test
    void anEmptyConfigSaysItIsEmpty() {
        for (String empty : new String[] {"", "  \n"}) {
            String msg = assertThrows(InvalidInputException.class, () -> Json.parseObject(empty.getBytes(), "config.json")).getMessage();
            assertEquals("config.json: the file is empty (expected a JSON object)", msg);
        }
    }
}
