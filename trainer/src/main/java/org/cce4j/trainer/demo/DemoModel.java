package org.cce4j.trainer.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The demo's model, as a Hugging Face Llama folder's config.json (and generation_config.json) with no
 * weights: train's {@code init: random} draws them. Small enough to pretrain on two CPU cores in
 * minutes, and a real Llama all the same (grouped-query attention, RoPE, SwiGLU, RMSNorm, a tied head),
 * which transformers' LlamaForCausalLM loads from the run's final/ folder.
 */
public record DemoModel(int vocabSize, int hidden, int layers, int heads, int kvHeads, int intermediate, int maxPositions) {
    /** A model's shape without its vocabulary. */
    public record Shape(int hidden, int layers, int heads, int kvHeads, int intermediate) {
        /** The demo's: about 3.9 M parameters at a vocabulary of 4,096. */
        public static final Shape STANDARD = new Shape(256, 4, 8, 4, 688);
        /** --quick's: a toy, for the test. */
        public static final Shape QUICK = new Shape(64, 2, 4, 2, 160);
    }

    public static DemoModel of(Shape s, int vocabSize, int maxPositions) {
        return new DemoModel(vocabSize, s.hidden(), s.layers(), s.heads(), s.kvHeads(), s.intermediate(), maxPositions);
    }

    public long parameters() {
        int headDim = hidden / heads;
        long attention = (long) hidden * heads * headDim * 2 + 2L * hidden * kvHeads * headDim;
        long mlp = 3L * hidden * intermediate;
        return (long) vocabSize * hidden + layers * (attention + mlp + 2L * hidden) + hidden;
    }

    /** Writes config.json and generation_config.json (stop at the end of a text or of a chat turn). */
    public void write(Path folder, int eosId, int endOfTurnId) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama").put("vocab_size", vocabSize).put("hidden_size", hidden).put("intermediate_size", intermediate)
                .put("num_hidden_layers", layers).put("num_attention_heads", heads).put("num_key_value_heads", kvHeads)
                .put("head_dim", hidden / heads).put("hidden_act", "silu").put("max_position_embeddings", maxPositions)
                .put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0).put("tie_word_embeddings", true)
                .put("attention_bias", false).put("mlp_bias", false).put("initializer_range", 0.02)
                .put("bos_token_id", eosId).put("eos_token_id", eosId).put("pad_token_id", eosId).put("torch_dtype", "float32");
        AtomicFiles.writeString(folder.resolve("config.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n");
        ObjectNode g = json.createObjectNode();
        g.put("bos_token_id", eosId).put("pad_token_id", eosId);
        g.putArray("eos_token_id").add(eosId).add(endOfTurnId);
        AtomicFiles.writeString(folder.resolve("generation_config.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(g) + "\n");
    }
}
