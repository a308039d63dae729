package org.cce4j.checkpoints.hf;

import org.cce4j.checkpoints.safetensors.SafetensorsDType;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint folders: the shard plan, stale shards, and every way a folder can be inconsistent. */
class CheckpointFolderTest {
    @TempDir
    Path dir;

    private static TensorEntry bytes(String name, long n) {
        return TensorEntry.raw(name, SafetensorsDType.U8, new long[] {n}, MemorySegment.ofArray(new byte[(int) n]));
    }

    @Test
    void shardPlanFollowsHuggingFace() {
        // huggingface_hub's documented example: sizes [6, 6, 2, 6, 2, 2] with a limit of 10 -> [6], [6+2], [6+2+2].
        List<TensorEntry> e = List.of(bytes("a", 6), bytes("b", 6), bytes("c", 2), bytes("d", 6), bytes("e", 2), bytes("f", 2));
        var plan = HfWeightsWriter.plan(e, 10);
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"),
                List.copyOf(plan.keySet()));
        assertEquals(List.of(List.of("a"), List.of("b", "c"), List.of("d", "e", "f")),
                plan.values().stream().map(l -> l.stream().map(TensorEntry::name).toList()).toList());
        // A tensor above the limit gets a shard of its own, in order.
        var big = HfWeightsWriter.plan(List.of(bytes("a", 2), bytes("huge", 50), bytes("b", 2)), 10);
        assertEquals(List.of(List.of("huge"), List.of("a", "b")),
                big.values().stream().map(l -> l.stream().map(TensorEntry::name).toList()).toList());
        assertEquals(List.of("model.safetensors"), List.copyOf(HfWeightsWriter.plan(e, 100).keySet()));
        assertEquals(5_000_000_000L, HfWeightsWriter.parseSize("5GB"));
        assertEquals(2L << 30, HfWeightsWriter.parseSize("2GiB"));
        assertEquals(20_000, HfWeightsWriter.parseSize("20KB"));
        assertThrows(IllegalArgumentException.class, () -> HfWeightsWriter.write(dir, List.of(bytes("a", 6), bytes("a", 6)), 10));
    }

    private Path llamaFolder(long maxShard) throws IOException {
        Path folder = dir.resolve("m");
        Files.createDirectories(folder);
        String config = org.cce4j.checkpoints.interop.JavaInteropFilesTestAccess.llamaConfigJson();
        Files.writeString(folder.resolve("config.json"), config);
        ModelConfig c = ModelConfigParser.read(folder.resolve("config.json"));
        List<TensorEntry> entries = new ArrayList<>();
        for (var e : HfModules.of(c).parameterShapes().entrySet()) {
            entries.add(TensorEntry.of(e.getKey(), Tensor.zeros(DType.F32, e.getValue()), DType.BF16));
        }
        HfWeightsWriter.write(folder, entries, maxShard);
        return folder;
    }

    @Test
    void resavingRemovesStaleShards() throws IOException {
        Path folder = llamaFolder(8_000);
        try (var s = Files.list(folder)) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().equals("model-00009-of-00009.safetensors")));
        }
        try (HfCheckpoint ck = HfCheckpoint.open(folder)) {
            assertTrue(ck.weights().sharded());
        }
        llamaFolder(1L << 30);
        try (var s = Files.list(folder)) {
            assertEquals(List.of("config.json", "model.safetensors"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (HfCheckpoint ck = HfCheckpoint.open(folder)) {
            assertFalse(ck.weights().sharded());
            assertEquals(0f, ck.weights().load("model.norm.weight", DType.F32).getFloat(3));
        }
    }

    private String error(Path folder) {
        return assertThrows(InvalidInputException.class, () -> HfCheckpoint.open(folder).close()).getMessage();
    }

    private static void assertContains(String message, String fragment) {
        assertTrue(message.contains(fragment), () -> "message: " + message + "\nexpected to contain: " + fragment);
    }

    @Test
    void inconsistentFoldersAreUserErrors() throws IOException {
        Path folder = llamaFolder(8_000);
        Path index = folder.resolve(CheckpointWeights.INDEX_FILE);
        String original = Files.readString(index);

        Files.writeString(index, original.replace("\"lm_head.weight\": \"model-00008-of-00009.safetensors\"",
                "\"lm_head.weight\": \"model-00001-of-00009.safetensors\""));
        assertContains(error(folder), ("says tensor 'lm_head.weight' is in model-00001-of-00009.safetensors, which has no such tensor"));

        Files.writeString(index, original.replace("model-00008-of-00009", "../../etc/passwd"));
        assertContains(error(folder), ("is not a file name in the folder"));

        // Drop from the index a tensor whose shard still holds others, so the shard is opened.
        var map = org.cce4j.checkpoints.Json.readObject(index).get("weight_map");
        String dropped = null;
        for (var e : map.properties()) {
            long sameShard = map.properties().stream().filter(x -> x.getValue().equals(e.getValue())).count();
            if (sameShard > 1) {
                dropped = e.getKey();
                break;
            }
        }
        String line = "\"" + dropped + "\": \"" + map.get(dropped).asText() + "\",";
        assertTrue(original.contains(line));
        Files.writeString(index, original.replace(line, ""));
        assertContains(error(folder), "holds tensor '" + dropped + "', which the index does not list");

        Files.writeString(index, original);
        Files.delete(folder.resolve("model-00003-of-00009.safetensors"));
        assertContains(error(folder), ("lists shard model-00003-of-00009.safetensors, which is missing"));

        Files.writeString(index, "{\"weight_map\": []}");
        assertContains(error(folder), ("weight_map must be an object"));

        Files.delete(index);
        assertContains(error(folder), ("no model.safetensors or model.safetensors.index.json (found model-00001-of-00009.safetensors"));
    }

    @Test
    void missingPiecesAndWrongShapes() throws IOException {
        Path folder = llamaFolder(1L << 30);
        Path weights = folder.resolve("model.safetensors");
        ModelConfig c = ModelConfigParser.read(folder.resolve("config.json"));
        List<TensorEntry> wrongShape = new ArrayList<>();
        List<TensorEntry> oneMissing = new ArrayList<>();
        for (var e : HfModules.of(c).parameterShapes().entrySet()) {
            boolean norm = e.getKey().equals("model.norm.weight");
            wrongShape.add(TensorEntry.of(e.getKey(), Tensor.zeros(DType.F32, norm ? new long[] {7} : e.getValue())));
            if (!e.getKey().equals("model.layers.1.mlp.up_proj.weight")) oneMissing.add(TensorEntry.of(e.getKey(), Tensor.zeros(DType.F32, e.getValue())));
        }
        oneMissing.add(TensorEntry.of("model.layers.0.self_attn.rotary_emb.inv_freq", Tensor.zeros(DType.F32, 4)));
        SafetensorsWriter.write(weights, Map.of(), wrongShape);
        assertContains(error(folder), "tensor 'model.norm.weight' has shape [7] but config.json implies [32]");
        SafetensorsWriter.write(weights, Map.of(), oneMissing);
        assertContains(error(folder), "1 tensors that config.json implies are missing, e.g. model.layers.1.mlp.up_proj.weight");
        SafetensorsWriter.write(weights, Map.of(), List.of(TensorEntry.of("model.norm.weight", Tensor.zeros(DType.F32, 32))));
        assertContains(error(folder), "config.json implies 2 layers of 9 tensors but the checkpoint holds 1 tensors in all");
        String config = Files.readString(folder.resolve("config.json"));
        Files.writeString(folder.resolve("config.json"), config.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 2000000000"));
        assertContains(error(folder), "num_hidden_layers 2000000000 is implausible");
        Files.writeString(folder.resolve("config.json"), config);
        Files.delete(weights);
        Files.write(folder.resolve("pytorch_model.bin"), new byte[] {1});
        assertContains(error(folder), ("only PyTorch pickle weights"));
        Files.delete(folder.resolve("config.json"));
        assertContains(error(folder), ("no config.json"));
        assertTrue(error(dir.resolve("nope")).contains("no such directory"));
        Files.writeString(weights, "garbage!");
        Files.writeString(folder.resolve("config.json"), org.cce4j.checkpoints.interop.JavaInteropFilesTestAccess.llamaConfigJson());
        assertContains(error(folder), ("model.safetensors: header length"));
    }

    @Test
    void generationConfig() throws IOException {
        Path f = dir.resolve("generation_config.json");
        Files.writeString(f, "{\"bos_token_id\": 1, \"eos_token_id\": [2, 3], \"do_sample\": true, \"temperature\": 0.6, \"top_p\": 0.9, \"top_k\": 20}");
        GenerationConfig g = GenerationConfig.read(f);
        assertEquals(List.of(2, 3), g.eosTokenIds());
        assertEquals(0.6, g.temperature());
        assertEquals(20, g.topK());
        assertTrue(g.doSample());
        Files.writeString(f, "{\"top_k\": \"many\"}");
        assertTrue(assertThrows(InvalidInputException.class, () -> GenerationConfig.read(f)).getMessage().contains("top_k must be an integer"));
    }
}
