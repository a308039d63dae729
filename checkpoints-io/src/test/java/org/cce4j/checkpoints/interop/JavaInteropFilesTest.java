package org.cce4j.checkpoints.interop;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.HfWeightsWriter;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.checkpoints.safetensors.SafetensorsDType;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.checkpoints.safetensors.TensorInfo;
import org.cce4j.checkpoints.state.TrainingState;
import org.cce4j.checkpoints.state.TrainingStateFile;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes the files that tools/reference/safetensors_interop.py --check reads with Python
 * safetensors, transformers and PEFT: every dtype, a file Python must reproduce byte for byte, a
 * sharded bf16 Llama folder, a LoRA adapter for it and a training state, plus java_manifest.json
 * with what each holds. Always written to a temporary folder and read back here; with
 * -Dcce4j.interop.out=DIR also to DIR, to be carried to the machine that has Python.
 */
class JavaInteropFilesTest {
    @TempDir
    Path tmp;

    @Test
    void writeAndReadBack() throws IOException {
        String out = System.getProperty("cce4j.interop.out");
        Path dir = out != null && !out.isBlank() ? Path.of(out) : tmp.resolve("java");
        Files.createDirectories(dir);
        ObjectNode manifest = Json.mapper().createObjectNode();
        allDtypes(dir.resolve("all_dtypes.safetensors"), manifest.putObject("all_dtypes.safetensors"));
        sameAsPython(dir.resolve("same_as_python.safetensors"), manifest.putObject("same_as_python.safetensors"));
        ModelConfig llama = llamaFolder(dir.resolve("java_llama"), manifest.putObject("java_llama"));
        lora(dir.resolve("java_lora"), llama, manifest.putObject("java_lora"));
        trainingState(dir.resolve("training_state.safetensors"), manifest.putObject("training_state.safetensors"));
        Json.writePythonStyle(dir.resolve("java_manifest.json"), manifest);

        try (HfCheckpoint ck = HfCheckpoint.open(dir.resolve("java_llama"))) {
            assertTrue(ck.weights().sharded());
            assertEquals(llama, ck.config());
        }
    }

    private static MemorySegment pattern(long bytes, long seed) {
        byte[] b = new byte[(int) bytes];
        new Random(seed).nextBytes(b);
        return MemorySegment.ofArray(b);
    }

    private static void describe(ObjectNode tensors, SafetensorsFile f) {
        for (TensorInfo t : f.tensors()) {
            ObjectNode o = tensors.putObject(t.name());
            o.put("dtype", t.dtype().name());
            ArrayNode s = o.putArray("shape");
            for (long d : t.shape()) s.add(d);
            o.put("sha256", Hashes.sha256(f.bytes(t.name())));
        }
    }

    private static void allDtypes(Path file, ObjectNode m) throws IOException {
        List<TensorEntry> entries = new ArrayList<>();
        long seed = 0;
        for (SafetensorsDType t : SafetensorsDType.values()) {
            entries.add(TensorEntry.raw("t_" + t.name().toLowerCase(), t, new long[] {3, 4}, pattern(t.byteCount(12), seed++)));
        }
        entries.add(TensorEntry.of("scalar_f32", Tensor.scalar(-2.75f)));
        entries.add(TensorEntry.raw("empty_bf16", SafetensorsDType.BF16, new long[] {0, 3}, MemorySegment.ofArray(new byte[0])));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "written by cce4j: ünïcode, \"quotes\", tab\t");
        SafetensorsWriter.write(file, meta, entries);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            describe(m.putObject("tensors"), f);
            meta.forEach(m.putObject("metadata")::put);
            m.put("file_sha256", Hashes.sha256(Files.readAllBytes(file)));
        }
    }

    /** The same dict as python's same_as_python(): save_file must produce these exact bytes. */
    private static void sameAsPython(Path file, ObjectNode m) throws IOException {
        float[] a = {0, 1, 2, 3, 4, 5};
        float[] b = {0, 0.5f, 1, 1.5f};
        Tensor bBf16 = Tensor.of(b, 4).to(DType.BF16);
        Tensor d = Tensor.zeros(DType.F16);
        d.setFloat(0, 1.5f);
        Tensor f = Tensor.zeros(DType.BOOL, 3);
        f.setLong(0, 1);
        f.setLong(2, 1);
        List<TensorEntry> entries = List.of(
                TensorEntry.of("a", Tensor.of(a, 2, 3)),
                TensorEntry.of("b", bBf16),
                TensorEntry.of("c", Tensor.of(new long[] {0, 1, 2}, 3)),
                TensorEntry.of("d", d),
                TensorEntry.of("e", Tensor.zeros(DType.U8, 0, 2)),
                TensorEntry.of("f", f),
                TensorEntry.of("g", Tensor.of(new int[] {0, 1, 2, 3, 4}, 5)));
        SafetensorsWriter.write(file, Map.of("format", "pt"), entries);
        m.put("file_sha256", Hashes.sha256(Files.readAllBytes(file)));
    }

    static String llamaConfigJson() {
        return """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "model_type": "llama",
                  "vocab_size": 128,
                  "hidden_size": 32,
                  "intermediate_size": 64,
                  "num_hidden_layers": 2,
                  "num_attention_heads": 4,
                  "num_key_value_heads": 2,
                  "head_dim": 8,
                  "hidden_act": "silu",
                  "max_position_embeddings": 256,
                  "rms_norm_eps": 1e-05,
                  "tie_word_embeddings": false,
                  "rope_theta": 500000.0,
                  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                   "original_max_position_embeddings": 64, "rope_type": "llama3"},
                  "bos_token_id": 1,
                  "eos_token_id": [2, 3],
                  "torch_dtype": "bfloat16"
                }
                """;
    }

    private static ModelConfig llamaFolder(Path folder, ObjectNode m) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), llamaConfigJson());
        Files.writeString(folder.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [2, 3], \"do_sample\": true, \"temperature\": 0.6, \"top_p\": 0.9}\n");
        ModelConfig config = ModelConfigParser.parse(Json.parseObject(llamaConfigJson().getBytes(), "config.json"), "config.json");
        Random r = new Random(42);
        List<TensorEntry> entries = new ArrayList<>();
        for (var e : HfModules.of(config).parameterShapes().entrySet()) {
            long[] shape = e.getValue();
            int n = (int) shape[0] * (shape.length > 1 ? (int) shape[1] : 1);
            float[] v = new float[n];
            boolean norm = e.getKey().endsWith("norm.weight");
            for (int i = 0; i < n; i++) v[i] = norm ? 1f + 0.1f * (float) r.nextGaussian() : 0.05f * (float) r.nextGaussian();
            entries.add(TensorEntry.of(e.getKey(), Tensor.of(v, shape), DType.BF16));
        }
        List<Path> files = HfWeightsWriter.write(folder, entries, 8_000);
        ObjectNode tensors = m.putObject("tensors");
        for (Path p : files) {
            if (p.toString().endsWith(".safetensors")) {
                try (SafetensorsFile f = SafetensorsFile.open(p)) {
                    describe(tensors, f);
                }
            }
        }
        m.put("shards", files.size() - 1);
        return config;
    }

    private static void lora(Path folder, ModelConfig base, ObjectNode m) throws IOException {
        LoraConfig config = LoraConfig.of(4, 8, List.of("q_proj", "v_proj"), 0.0, "java_llama");
        Random r = new Random(7);
        Map<String, LoraAdapter.Pair> modules = new LinkedHashMap<>();
        for (int i = 0; i < base.numHiddenLayers(); i++) {
            for (String proj : List.of("q_proj", "v_proj")) {
                long out = proj.equals("q_proj") ? (long) base.numAttentionHeads() * base.headDim() : (long) base.numKeyValueHeads() * base.headDim();
                float[] a = new float[(int) (4 * base.hiddenSize())];
                float[] b = new float[(int) (out * 4)];
                for (int k = 0; k < a.length; k++) a[k] = (float) r.nextGaussian() * 0.1f;
                for (int k = 0; k < b.length; k++) b[k] = (float) r.nextGaussian() * 0.1f;
                modules.put("model.layers." + i + ".self_attn." + proj,
                        new LoraAdapter.Pair(Tensor.of(a, 4, base.hiddenSize()), Tensor.of(b, out, 4)));
            }
        }
        LoraAdapter.save(folder, config, modules, DType.F32);
        try (SafetensorsFile f = SafetensorsFile.open(folder.resolve(LoraAdapter.WEIGHTS))) {
            describe(m.putObject("tensors"), f);
        }
        m.put("scaling", config.scaling("model.layers.0.self_attn.q_proj"));
        try (LoraAdapter back = LoraAdapter.open(folder)) {
            assertEquals(modules.keySet(), back.modules());
        }
    }

    private static void trainingState(Path file, ObjectNode m) throws IOException {
        Tensor m1 = Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3);
        Tensor v1 = Tensor.of(new float[] {1e-4f, 2e-4f, 3e-4f}, 3);
        TrainingState s = new TrainingState(1200, new TrainingState.DataPosition(1, 76800), new long[] {0x9E3779B97F4A7C15L, -5L},
                Map.of("lr", "0.0002", "scheduler", "cosine"), Map.of("exp_avg.w", m1, "exp_avg_sq.w", v1));
        TrainingStateFile.write(file, s);
        try (TrainingStateFile back = TrainingStateFile.open(file)) {
            assertEquals(s, back.state());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            describe(m.putObject("tensors"), f);
        }
        m.put("step", 1200);
        m.put("epoch", 1);
        m.put("index", 76800);
    }
}
