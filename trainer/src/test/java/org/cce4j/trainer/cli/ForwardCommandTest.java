package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code forward --grads} on the transformer module's reference checkpoints against what transformers
 * computed for them: logits, loss and every gradient within 1e-4; bad inputs exit 2 with one line.
 */
class ForwardCommandTest {
    static final Path REFERENCES = Path.of("../transformer/src/test/resources/hf-reference");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"llama3_tied_bf16_sharded", "gemma2", "qwen3"})
    void matchesTransformers(String name) throws Exception {
        Path folder = REFERENCES.resolve(name);
        Path in = dir.resolve("in.safetensors");
        Path out = dir.resolve("out.safetensors");
        try (SafetensorsFile ref = SafetensorsFile.open(folder.resolve("reference.safetensors"))) {
            SafetensorsWriter.write(in, Map.of(), List.of(TensorEntry.of("input_ids", ref.tensor("input_ids")),
                    TensorEntry.of("unrelated", ref.tensor("loss"))));
            CliRun run = CliRun.of("forward", "--model", folder.toString(), "--input", in.toString(), "--output", out.toString(),
                    "--grads", "--device", "cpu");
            assertEquals(0, run.status(), run.err());
            try (SafetensorsFile got = SafetensorsFile.open(out)) {
                assertEquals(DType.F32, got.tensor("logits").dtype());
                assertEquals(List.of(ref.tensor("logits").shape()[0], ref.tensor("logits").shape()[2]),
                        List.of(got.tensor("logits").shape()[0], got.tensor("logits").shape()[2]));
                close(ref.tensor("logits"), got.tensor("logits"), name + " logits");
                close(ref.tensor("loss"), got.tensor("loss"), name + " loss");
                int grads = 0;
                for (String n : ref.names()) {
                    if (!n.startsWith("grad.")) continue;
                    close(ref.tensor(n), got.tensor(n), name + " " + n);
                    grads++;
                }
                assertEquals(grads, got.names().stream().filter(n -> n.startsWith("grad.")).count(), "one gradient per parameter");
            }
        }
    }

    @Test
    void aPaddedBatchUsesItsLabelsAndAttentionMaskAsTransformersDoes() throws Exception {
        Path folder = REFERENCES.resolve("llama_padded");   // row 1 padded from position 6: mask 0, labels -100
        Path in = dir.resolve("padded.safetensors");
        Path out = dir.resolve("out.safetensors");
        try (SafetensorsFile ref = SafetensorsFile.open(folder.resolve("reference.safetensors"))) {
            assertTrue(java.util.Arrays.stream(ref.tensor("attention_mask").toLongArray()).anyMatch(m -> m == 0), "the fixture is padded");
            SafetensorsWriter.write(in, Map.of(), List.of(TensorEntry.of("input_ids", ref.tensor("input_ids")),
                    TensorEntry.of("attention_mask", ref.tensor("attention_mask")), TensorEntry.of("labels", ref.tensor("labels"))));
            CliRun run = CliRun.of("forward", "--model", folder.toString(), "--input", in.toString(), "--output", out.toString(),
                    "--grads", "--device", "cpu");
            assertEquals(0, run.status(), run.err());
            long predicted = 0;
            long[] labels = ref.tensor("labels").toLongArray();
            int t = (int) ref.tensor("labels").dim(1);
            for (int i = 0; i < labels.length; i++) if (i % t != 0 && labels[i] != -100) predicted++;
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^loss (\\S+) \\(mean over (\\d+) predicted tokens\\)\n$").matcher(run.out());
            assertTrue(m.find(), "one line with the loss: " + run.out());
            assertEquals(predicted, Long.parseLong(m.group(2)));
            assertEquals(ref.tensor("loss").getDouble(0), Double.parseDouble(m.group(1)), 1e-4 * Math.abs(ref.tensor("loss").getDouble(0)) + 5e-7);
            try (SafetensorsFile got = SafetensorsFile.open(out)) {
                close(ref.tensor("logits"), got.tensor("logits"), "padded logits");
                close(ref.tensor("loss"), got.tensor("loss"), "padded loss");
                for (String n : ref.names()) {
                    if (n.startsWith("grad.")) close(ref.tensor(n), got.tensor(n), "padded " + n);
                }
            }
            // what the command gave before it read them: the loss of labels = input_ids without a mask, another number
            Path idsOnly = dir.resolve("ids-only.safetensors");
            SafetensorsWriter.write(idsOnly, Map.of(), List.of(TensorEntry.of("input_ids", ref.tensor("input_ids"))));
            CliRun plain = CliRun.of("forward", "--model", folder.toString(), "--input", idsOnly.toString(), "--output", out.toString(), "--device", "cpu");
            assertEquals(0, plain.status(), plain.err());
            try (SafetensorsFile got = SafetensorsFile.open(out)) {
                double rel = Math.abs(got.tensor("loss").getDouble(0) - ref.tensor("loss").getDouble(0)) / ref.tensor("loss").getDouble(0);
                assertTrue(rel > 1e-3, "the padding changes the loss (relative difference " + rel + ")");
            }
        }
    }

    @Test
    void refusesBadLabelsAndMasks() throws Exception {
        Path folder = REFERENCES.resolve("llama");
        Path out = dir.resolve("never.safetensors");
        long[] ids = {1, 2, 3, 4, 5, 6};
        Object[][] cases = {
            {"labels", Tensor.of(new long[] {1, 2, 3}, 1, 3), "labels must be an int64 (or int32) tensor shaped like input_ids [2, 3]"},
            {"labels", Tensor.of(new long[] {1, 2, -5, 4, 5, 6}, 2, 3), "labels holds -5 at position 2 (a token id, or -100 for none)"},
            {"labels", Tensor.of(new long[] {1, 2, 3, 4, 5, 97}, 2, 3), "label 97 at position 5 is outside [0, 97)"},
            {"labels", Tensor.of(new long[] {1, -100, -100, 4, -100, -100}, 2, 3), "labels leave nothing to predict"},
            {"attention_mask", Tensor.of(new long[] {1, 1, 2, 1, 1, 1}, 2, 3), "attention_mask holds 2 at position 2 (1 for a token, 0 for padding)"},
            {"attention_mask", Tensor.of(new long[] {1, 1, 1, 0, 0, 0}, 2, 3), "attention_mask row 1 is all padding"},
            {"attention_mask", Tensor.of(new float[] {1, 1, 1, 1, 1, 1}, 2, 3), "attention_mask must be an int64 (or int32) tensor"},
        };
        for (Object[] c : cases) {
            Path in = dir.resolve("bad.safetensors");
            try (Tensor inputIds = Tensor.of(ids, 2, 3); Tensor extra = (Tensor) c[1]) {
                SafetensorsWriter.write(in, Map.of(), List.of(TensorEntry.of("input_ids", inputIds), TensorEntry.of((String) c[0], extra)));
            }
            CliRun run = CliRun.of("forward", "--model", folder.toString(), "--input", in.toString(), "--output", out.toString(), "--device", "cpu");
            assertEquals(2, run.status(), run.err());
            assertTrue(run.errorLine().contains((String) c[2]), c[2] + " / " + run.err());
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void refusesBadInputs() throws Exception {
        Path folder = REFERENCES.resolve("llama");
        Path out = dir.resolve("never.safetensors");
        Path flat = dir.resolve("flat.safetensors");
        try (Tensor ids = Tensor.of(new long[] {1, 2, 3}, 3)) {
            SafetensorsWriter.write(flat, Map.of(), List.of(TensorEntry.of("input_ids", ids)));
        }
        Path big = dir.resolve("big.safetensors");
        try (Tensor ids = Tensor.of(new long[] {1, 2, 97}, 1, 3)) {
            SafetensorsWriter.write(big, Map.of(), List.of(TensorEntry.of("input_ids", ids)));
        }
        CliRun r1 = CliRun.of("forward", "--model", folder.toString(), "--input", flat.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(2, r1.status());
        assertTrue(r1.errorLine().contains("shape [B, T]"), r1.err());
        CliRun r2 = CliRun.of("forward", "--model", folder.toString(), "--input", big.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(2, r2.status());
        assertTrue(r2.errorLine().contains("token id 97 at position 2 is outside [0, 97)"), r2.err());
        CliRun r3 = CliRun.of("forward", "--model", dir.resolve("nothing").toString(), "--input", big.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(2, r3.status(), r3.err());
        r3.errorLine();
        CliRun r4 = CliRun.of("forward", "--model", folder.toString(), "--input", big.toString(), "--output", out.toString(), "--device", "cpu", "--dtype", "bf16");
        assertEquals(2, r4.status());
        assertTrue(r4.errorLine().contains("f32 only"), r4.err());
        assertFalse(Files.exists(out));
    }

    private static void close(Tensor expected, Tensor actual, String what) {
        RelativeError.assertClose(expected.toDoubleArray(), actual.toDoubleArray(), 1e-4, what);
    }
}
