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
