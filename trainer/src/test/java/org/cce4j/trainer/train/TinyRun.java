package org.cce4j.trainer.train;

import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.HfWeightsWriter;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A tiny Llama checkpoint, rows and a config written by the tests themselves (no fixtures needed), for
 * what does not compare against PyTorch: resuming, kills, signals, failures.
 */
final class TinyRun {
    static final int VOCAB = 61;

    private TinyRun() {}

    static String configJson() {
        return """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 61, "hidden_size": 32,
                 "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "head_dim": 8, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-06,
                 "tie_word_embeddings": false, "rope_theta": 10000.0, "bos_token_id": 1, "eos_token_id": 2,
                 "torch_dtype": "float32"}
                """;
    }

    /** A model folder with seeded random f32 weights (std 0.1; norms 1 ± 0.1). */
    static Path model(Path dir, DType fileType) throws IOException {
        Path folder = dir.resolve("model");
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), configJson());
        weights(folder, fileType);
        return folder;
    }

    /** Seeded weights for the config.json in {@code folder}. */
    static void weights(Path folder, DType fileType) throws IOException {
        String json = Files.readString(folder.resolve("config.json"));
        ModelConfig config = ModelConfigParser.parse(Json.parseObject(json.getBytes(), "config.json"), "config.json");
        SplittableRandom r = new SplittableRandom(42);
        List<TensorEntry> entries = new ArrayList<>();
        for (var e : HfModules.of(config).parameterShapes().entrySet()) {
            long[] shape = e.getValue();
            int n = (int) shape[0] * (shape.length > 1 ? (int) shape[1] : 1);
            float[] v = new float[n];
            boolean norm = e.getKey().endsWith("norm.weight");
            for (int i = 0; i < n; i++) v[i] = norm ? 1f + 0.1f * (float) r.nextGaussian() : 0.1f * (float) r.nextGaussian();
            entries.add(TensorEntry.of(e.getKey(), Tensor.of(v, shape), fileType));
        }
        HfWeightsWriter.write(folder, entries, 1L << 30);
    }

    /** {@code n} rows of 5..20 random ids; every third row with a -100 prompt of 3 tokens. */
    static Path rows(Path dir, String name, int n, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int len = 5 + r.nextInt(16);
            List<String> ids = new ArrayList<>(), labels = new ArrayList<>();
            for (int t = 0; t < len; t++) {
                int id = 3 + r.nextInt(VOCAB - 3);
                ids.add(Integer.toString(id));
                labels.add(i % 3 == 0 && t < 3 ? "-100" : Integer.toString(id));
            }
            sb.append("{\"input_ids\": [").append(String.join(", ", ids)).append("]");
            if (i % 3 == 0) sb.append(", \"labels\": [").append(String.join(", ", labels)).append("]");
            sb.append("}\n");
        }
        Path f = dir.resolve(name);
        Files.writeString(f, sb.toString());
        return f;
    }

    /** A config for the tiny model: 2 epochs of 10 rows in steps of 2×2 rows (6 steps), checkpoints every 2 steps. */
    static Path config(Path dir, String extra) throws IOException {
        String yaml = """
                model: model
                device: cpu
                output: run
                data:
                  train: rows.jsonl
                  validation: valid.jsonl
                  cache_dir: token-cache
                train:
                  epochs: 2
                  micro_batch_size: 2
                  grad_accum: 2
                  lr: 3.0e-3
                  schedule: cosine
                  warmup_steps: 1
                  weight_decay: 0.1
                  max_grad_norm: 0.5
                  seed: 7
                save:
                  every_steps: 2
                  keep: 2
                eval:
                  every_steps: 3
                """ + extra;
        Path f = dir.resolve("run.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    /** Model, rows, validation rows and config in {@code dir}. */
    static Path setUp(Path dir, String extraYaml) throws IOException {
        model(dir, DType.F32);
        rows(dir, "rows.jsonl", 10, 3);
        rows(dir, "valid.jsonl", 4, 99);
        return config(dir, extraYaml);
    }
}
