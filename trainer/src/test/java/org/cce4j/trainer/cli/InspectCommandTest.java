package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The inspect command on a file, on folders transformers and PEFT wrote, and on malformed input. */
class InspectCommandTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void listsAFile() throws IOException {
        Path f = dir.resolve("t.safetensors");
        SafetensorsWriter.write(f, Map.of("format", "pt"), List.of(
                TensorEntry.of("layers.10.w", Tensor.zeros(DType.F32, 2, 3), DType.BF16),
                TensorEntry.of("layers.2.w", Tensor.zeros(DType.F32, 4)),
                TensorEntry.of("step", Tensor.of(new long[] {5}, 1))));
        Result r = run("inspect", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("3 tensors"), r.out());
        assertTrue(r.out().contains("format = pt"), r.out());
        assertTrue(r.out().matches("(?s).*layers\\.2\\.w\\s+F32\\s+\\[4].*layers\\.10\\.w\\s+BF16\\s+\\[2, 3].*"), r.out());
        assertTrue(r.out().contains("I64     [1]"), r.out());
    }

    private static Path fixture(String name) {
        Path p = Path.of("../checkpoints-io/src/test/resources/interop/python", name);
        Assumptions.assumeTrue(Files.isDirectory(p), "transformers-written fixtures not found at " + p.toAbsolutePath());
        return p;
    }

    @Test
    void listsAShardedBf16ModelThatTransformersWrote() {
        Result r = run("inspect", fixture("gemma2").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Gemma2ForCausalLM (gemma2): 4 layers, hidden 32"), r.out());
        assertTrue(r.out().contains("5 shards (model.safetensors.index.json)"), r.out());
        assertTrue(r.out().contains("2 sliding (window 16)"), r.out());
        assertTrue(r.out().matches("(?s).*model\\.layers\\.3\\.pre_feedforward_layernorm\\.weight\\s+BF16\\s+\\[32]\\s+model-0000\\d-of-00005\\.safetensors.*"), r.out());
        assertTrue(r.out().contains("rope sliding_attention: default(theta=10000.0)"), r.out());
    }

    @Test
    void listsAnAdapterThatPeftWrote() {
        Result r = run("inspect", fixture("peft_llama").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("PEFT LoRA adapter, r 4, lora_alpha 16.0"), r.out());
        assertTrue(r.out().contains("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"), r.out());
    }

    private void assertUserError(Path p, String fragment) {
        Result r = run("inspect", p.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(r.err().startsWith("inspect: error: "), r.err());
        assertTrue(r.err().contains(fragment), r.err());
        assertEquals("", r.out());
    }

    @Test
    void malformedInputIsOneLineAndExitTwo() throws IOException {
        Path empty = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        assertUserError(empty, "fewer than the 8-byte header length");
        ByteBuffer lying = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).put("{}".getBytes());
        assertUserError(Files.write(dir.resolve("lying.safetensors"), lying.array()), "exceeds the 100000000-byte limit");
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        ByteBuffer truncated = ByteBuffer.allocate(8 + header.length() + 8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length()).put(header.getBytes());
        assertUserError(Files.write(dir.resolve("truncated.safetensors"), truncated.array()), "run past the end of the data section");
        assertUserError(dir.resolve("missing.safetensors"), "no such file or folder");
        Path folder = Files.createDirectories(dir.resolve("model"));
        assertUserError(folder, "neither a model nor an adapter");
        Files.writeString(folder.resolve("config.json"), "{\"model_type\": \"gpt2\", \"architectures\": [\"GPT2LMHeadModel\"]}");
        assertUserError(folder, "architecture GPT2LMHeadModel (model_type gpt2) is not supported");
        Files.writeString(folder.resolve("config.json"), "");
        assertUserError(folder, "config.json: the file is empty (expected a JSON object)");
    }
}
