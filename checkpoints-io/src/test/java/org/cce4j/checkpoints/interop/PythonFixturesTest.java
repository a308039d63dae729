package org.cce4j.checkpoints.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.CheckpointWeights;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.HfWeightsWriter;
import org.cce4j.checkpoints.hf.LayerType;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.RopeParameters;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.checkpoints.safetensors.TensorInfo;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads the files that tools/reference/safetensors_interop.py --write made with safetensors 0.8,
 * transformers 5.17 and peft 0.21 (resources interop/python, manifest.json), and checks every
 * tensor bit for bit (SHA-256), the leading values of every numeric dtype after conversion, each
 * tiny model's config against what transformers itself resolved, and that our sharded writer
 * reproduces transformers' shards and index byte for byte.
 */
class PythonFixturesTest {
    static Path root;
    static JsonNode manifest;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        var url = PythonFixturesTest.class.getResource("/interop/python/manifest.json");
        assertTrue(url != null, "fixtures missing: run tools/reference/safetensors_interop.py --write");
        root = Path.of(url.toURI()).getParent();
        manifest = Json.readObject(root.resolve("manifest.json"));
    }

    private static void assertSameTensors(JsonNode want, SafetensorsFile f, String what) {
        for (TensorInfo t : f.tensors()) {
            JsonNode w = want.get(t.name());
            assertTrue(w != null, what + ": unexpected tensor " + t.name());
            assertEquals(w.get("dtype").asText(), t.dtype().name(), what + " " + t.name());
            long[] shape = new long[w.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = w.get("shape").get(i).asLong();
            assertArrayEquals(shape, t.shape(), what + " " + t.name());
            assertEquals(w.get("sha256").asText(), Hashes.sha256(f.bytes(t.name())), what + " " + t.name());
        }
    }

    @Test
    void everyDtypeBitExactAndConverted() throws IOException {
        JsonNode m = manifest.get("dtypes");
        assertTrue(m.get("skipped").isEmpty(), "the reference run skipped dtypes: " + m.get("skipped"));
        try (SafetensorsFile f = SafetensorsFile.open(root.resolve(m.get("file").asText()))) {
            assertEquals(m.get("tensors").size(), f.tensors().size());
            assertSameTensors(m.get("tensors"), f, "py_all_dtypes");
            Map<String, String> meta = new HashMap<>();
            m.get("metadata").properties().forEach(e -> meta.put(e.getKey(), e.getValue().asText()));
            assertEquals(meta, f.metadata());
            int checked = 0;
            for (var e : m.get("tensors").properties()) {
                JsonNode values = e.getValue().get("values");
                if (values == null) continue;
                try (Tensor t = f.load(e.getKey(), DType.F64)) {
                    for (int i = 0; i < values.size(); i++) {
                        assertEquals(values.get(i).asDouble(), t.getDouble(i), e.getKey() + "[" + i + "] as f64");
                    }
                    if (f.info(e.getKey()).dtype().dtype().isFloatingPoint() && values.size() > 0) {
                        try (Tensor t32 = f.load(e.getKey(), DType.F32)) {
                            assertEquals((float) values.get(0).asDouble(), t32.getFloat(0), e.getKey() + " as f32");
                        }
                    }
                }
                checked++;
            }
            assertTrue(checked >= 15, "values checked for " + checked + " dtypes");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gemma2", "mistral", "qwen2", "qwen3", "gemma", "gemma3"})
    void tinyModelsAsTransformersSeesThem(String name) throws IOException {
        JsonNode m = manifest.get("models").get(name);
        JsonNode py = m.get("config");
        try (HfCheckpoint ck = HfCheckpoint.open(root.resolve(name))) {
            ModelConfig c = ck.config();
            assertEquals(m.get("architecture").asText(), c.architecture());
            assertEquals(py.get("vocab_size").asInt(), c.vocabSize());
            assertEquals(py.get("hidden_size").asInt(), c.hiddenSize());
            assertEquals(py.get("intermediate_size").asInt(), c.intermediateSize());
            assertEquals(py.get("num_hidden_layers").asInt(), c.numHiddenLayers());
            assertEquals(py.get("num_attention_heads").asInt(), c.numAttentionHeads());
            assertEquals(py.get("num_key_value_heads").asInt(), c.numKeyValueHeads());
            assertEquals(m.get("head_dim").asInt(), c.headDim());
            assertEquals(py.get("rms_norm_eps").asDouble(), c.rmsNormEps());
            assertEquals(py.get("tie_word_embeddings").asBoolean(), c.tieWordEmbeddings());
            assertEquals(m.get("attention_scaling").asDouble(), c.attentionScale(), 1e-15);
            assertEquals(py.get("max_position_embeddings").asInt(), c.maxPositionEmbeddings());
            if (py.has("final_logit_softcapping")) {
                assertEquals(py.get("final_logit_softcapping").asDouble(0), c.finalLogitSoftcap());
                assertEquals(py.get("attn_logit_softcapping").asDouble(0), c.attnLogitSoftcap());
            }
            // Layer kinds: transformers' own layer_types where the config has them, else every layer
            // uses config.sliding_window (Mistral) or none (Llama, Gemma).
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                LayerType expected;
                if (py.has("layer_types")) {
                    expected = LayerType.ofHfName(py.get("layer_types").get(i).asText());
                } else {
                    expected = py.path("sliding_window").isNumber() ? LayerType.SLIDING_ATTENTION : LayerType.FULL_ATTENTION;
                }
                assertEquals(expected, c.layerType(i), name + " layer " + i);
                JsonNode window = m.get("layer_sliding_window").get(i);
                if (!window.isNull()) assertEquals(window.asInt(), c.slidingWindow(), name + " layer " + i + " window");
            }
            // RoPE as transformers standardized it: flat, or nested by layer type.
            JsonNode rope = py.get("rope_parameters");
            for (LayerType t : LayerType.values()) {
                JsonNode r = rope.has(t.hfName()) ? rope.get(t.hfName()) : rope;
                RopeParameters ours = c.rope().get(t);
                assertEquals(r.get("rope_type").asText(), ours.type().hfName(), name + " " + t);
                assertEquals(r.get("rope_theta").asDouble(), ours.theta(), name + " " + t);
                if (r.has("factor")) assertEquals(r.get("factor").asDouble(), ours.factor());
                if (r.has("low_freq_factor")) assertEquals(r.get("low_freq_factor").asDouble(), ours.lowFreqFactor());
                if (r.has("high_freq_factor")) assertEquals(r.get("high_freq_factor").asDouble(), ours.highFreqFactor());
                if (r.has("original_max_position_embeddings")) {
                    assertEquals(r.get("original_max_position_embeddings").asInt(), ours.originalMaxPositionEmbeddings());
                }
            }
            // Weights: exactly the names and shapes the config implies, every byte as transformers saved it.
            CheckpointWeights w = ck.weights();
            assertEquals(new TreeSet<>(HfModules.of(c).parameterShapes().keySet()), new TreeSet<>(w.names()), name);
            Set<String> seen = new TreeSet<>();
            for (SafetensorsFile f : w.files()) {
                assertSameTensors(m.get("tensors"), f, name);
                seen.addAll(f.names());
            }
            assertEquals(m.get("tensors").size(), seen.size());
            assertEquals(m.has("index_text_sha256"), w.sharded());
            assertTrue(ck.generationConfig().isPresent());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gemma2"})
    void shardedWriterReproducesTransformersByteForByte(String name, @TempDir Path out) throws IOException {
        JsonNode m = manifest.get("models").get(name);
        try (HfCheckpoint ck = HfCheckpoint.open(root.resolve(name))) {
            List<TensorEntry> entries = new ArrayList<>();
            for (String t : HfModules.of(ck.config()).parameterShapes().keySet()) entries.add(TensorEntry.of(t, ck.weights().tensor(t)));
            HfWeightsWriter.write(out, entries, HfWeightsWriter.parseSize("20KB"));
            List<String> written;
            try (var s = Files.list(out)) {
                written = s.map(p -> p.getFileName().toString()).sorted().toList();
            }
            List<String> theirs = new ArrayList<>();
            m.get("files").forEach(f -> {
                if (f.asText().endsWith(".safetensors") || f.asText().endsWith(".index.json")) theirs.add(f.asText());
            });
            assertEquals(theirs, written);
            assertEquals(m.get("index_text_sha256").asText(), Hashes.sha256(Files.readAllBytes(out.resolve(CheckpointWeights.INDEX_FILE))),
                    "index.json text identical to transformers'");
            for (String f : written) {
                assertEquals(Hashes.sha256(Files.readAllBytes(root.resolve(name).resolve(f))), Hashes.sha256(Files.readAllBytes(out.resolve(f))), f);
            }
        }
    }

    @Test
    void peftAdapter() throws IOException {
        JsonNode m = manifest.get("peft");
        try (LoraAdapter a = LoraAdapter.open(root.resolve(m.get("folder").asText()))) {
            assertEquals(4, a.config().r());
            assertEquals(16.0, a.config().loraAlpha());
            assertEquals(m.get("scaling").asDouble(), a.config().scaling("model.layers.0.self_attn.q_proj"));
            assertEquals(8, a.modules().size());
            for (String module : a.modules()) {
                assertTrue(a.config().targets(module), module);
                LoraAdapter.Pair p = a.pair(module);
                for (boolean isA : new boolean[] {true, false}) {
                    String key = LoraAdapter.key(module, isA);
                    assertEquals(m.get("tensors").get(key).get("sha256").asText(), Hashes.sha256((isA ? p.a() : p.b()).data()), key);
                }
            }
            assertArrayEquals(new long[] {4, 32}, a.pair("model.layers.1.self_attn.o_proj").a().shape());
            assertArrayEquals(new long[] {16, 4}, a.pair("model.layers.1.self_attn.k_proj").b().shape());
        }
    }

    @Test
    void manifestRecordsTheLibraries() {
        ObjectNode v = (ObjectNode) manifest.get("versions");
        assertTrue(v.get("transformers").asText().startsWith("5."), v.toString());
    }
}
