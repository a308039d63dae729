package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.bench.InputKind;
import org.cce4j.core.bench.InputStatistics;
import org.cce4j.core.bench.LossBenchmarkInputs;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench-loss --inputs: the drawn kinds print their statistics (text line, JSON "inputs" object); a file written
 * with the trained inputs gives the very statistics and loss of --inputs trained (the round trip); every bad
 * value or file is one line naming the option and the file, exit 2.
 */
class BenchLossInputsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void aFileOfTheTrainedInputsMeasuresAsTheTrainedKind() throws Exception {
        CceInputs in = LossBenchmarkInputs.create(InputKind.TRAINED, 128, 64, 1024, DType.BF16, 1234);
        InputStatistics expected;
        Path file = dir.resolve("trained.safetensors");
        try {
            expected = InputStatistics.measure("trained", in, 0, 64);
            SafetensorsWriter.write(file, Map.of(), List.of(TensorEntry.of("E", in.embeddings()),
                    TensorEntry.of("C", in.classifier()), TensorEntry.of("targets", in.targets())));
        } finally {
            LossBenchmarkInputs.close(in);
        }
        CliRun drawn = CliRun.of("bench-loss", "--inputs", "trained", "--n", "128", "--d", "64", "--v", "1024", "--dtype", "bf16",
                "--impl", "cce,baseline", "--iters", "1", "--json", "--device", "cpu");
        CliRun read = CliRun.of("bench-loss", "--inputs", file.toString(), "--impl", "cce,baseline", "--iters", "1", "--json",
                "--device", "cpu");
        assertEquals(0, drawn.status(), drawn.err());
        assertEquals(0, read.status(), read.err());
        String[] a = drawn.out().strip().split("\n"), b = read.out().strip().split("\n");
        assertEquals(2, a.length, drawn.out());
        assertEquals(2, b.length, read.out());
        for (int i = 0; i < 2; i++) {
            JsonNode x = JSON.readTree(a[i]), y = JSON.readTree(b[i]);
            assertEquals("bf16", y.get("dtype").asText(), "the file's dtype when --dtype is not given");
            assertEquals(128, y.get("n").asInt());
            assertEquals(1024, y.get("v").asInt());
            assertEquals(x.get("loss").asDouble(), y.get("loss").asDouble(), 0.0, "same values, same loss");
            JsonNode s = y.get("inputs");
            assertEquals(file.toString(), s.get("kind").asText());
            assertEquals("trained", x.get("inputs").get("kind").asText());
            assertEquals(64, s.get("rows_sampled").asInt());
            assertEquals(expected.meanEntropy(), s.get("mean_entropy_nats").asDouble(), 1e-4);
            assertEquals(expected.meanTop1(), s.get("mean_top1_prob").asDouble(), 1e-4);
            assertEquals(expected.targetIsArgmax(), s.get("target_is_argmax").asDouble(), 1e-4);
            assertEquals(expected.abovePerRow(), s.get("above_filter_per_row").asDouble(), 0.01);
            assertEquals(x.get("inputs").get("mean_entropy_nats").asDouble(), s.get("mean_entropy_nats").asDouble(), 0.0);
        }
        // f32 in the file, bf16 asked: converted; text mode prints the statistics line first
        CceInputs f = LossBenchmarkInputs.create(InputKind.UNIFORM, 16, 8, 100, DType.F32, 1);
        Path f32 = dir.resolve("f32.safetensors");
        try {
            SafetensorsWriter.write(f32, Map.of(), List.of(TensorEntry.of("E", f.embeddings()), TensorEntry.of("C", f.classifier()),
                    TensorEntry.of("targets", f.targets())));
        } finally {
            LossBenchmarkInputs.close(f);
        }
        CliRun text = CliRun.of("bench-loss", "--inputs", f32.toString(), "--dtype", "bf16", "--iters", "1", "--device", "cpu");
        assertEquals(0, text.status(), text.err());
        String[] lines = text.out().strip().split("\n");
        assertEquals(2, lines.length, text.out());
        assertTrue(lines[0].startsWith("inputs " + f32 + " (16 rows sampled, exact f64 softmax): mean entropy 4.60"), lines[0]);
        assertTrue(lines[1].contains("N=16 D=8 V=100 bf16: forward "), lines[1]);
    }

    @Test
    void eachKindPrintsItsStatistics() throws Exception {
        for (String kind : new String[] {"paper", "uniform", "trained"}) {
            CliRun run = CliRun.of("bench-loss", "--inputs", kind, "--n", "64", "--d", "256", "--v", "2048", "--iters", "1",
                    "--json", "--device", "cpu");
            assertEquals(0, run.status(), run.err());
            JsonNode s = JSON.readTree(run.out().strip()).get("inputs");
            assertEquals(kind, s.get("kind").asText());
            double h = s.get("mean_entropy_nats").asDouble(), top1 = s.get("mean_top1_prob").asDouble();
            switch (kind) {
                case "paper" -> assertTrue(top1 > 0.99, run.out());
                case "uniform" -> assertEquals(Math.log(2048), h, 1e-3, run.out());
                default -> assertTrue(h > 1 && h < 3.5 && top1 > 0.2 && top1 < 0.7, run.out());
            }
        }
        CliRun plain = CliRun.of("bench-loss", "--n", "64", "--d", "64", "--v", "2048", "--iters", "1", "--json", "--device", "cpu");
        assertEquals("paper", JSON.readTree(plain.out().strip()).get("inputs").get("kind").asText(), "the default");
    }

    @Test
    void badValuesAndFilesAreOneLineNamingTheOptionAndFile() throws Exception {
        assertError("--inputs must be paper, uniform, trained or a .safetensors file, got zipf",
                "--inputs", "zipf", "--n", "8", "--d", "8", "--v", "8");
        assertError("--n, --d and --v are required with --inputs trained", "--inputs", "trained", "--n", "8");
        Path none = dir.resolve("none.safetensors");
        assertError("--inputs " + none + ": no such file", "--inputs", none.toString());

        Tensor e = Tensor.of(new float[4 * 8], 4, 8), c = Tensor.of(new float[10 * 8], 10, 8), c7 = Tensor.of(new float[10 * 7], 10, 7);
        Tensor t = Tensor.of(new long[] {0, 1, 2, 3}, 4), t3 = Tensor.of(new long[] {0, 1, 2}, 3), far = Tensor.of(new long[] {0, 1, 2, 10}, 4);
        Tensor e1 = Tensor.of(new float[32], 32), ti = Tensor.of(new float[] {0, 1, 2, 3}, 4);
        Path noC = write("noC", TensorEntry.of("E", e), TensorEntry.of("targets", t));
        assertError("--inputs " + noC + ": no tensor 'C' (needs E [N, D], C [V, D], targets [N])", "--inputs", noC.toString());
        Path badD = write("badD", TensorEntry.of("E", e), TensorEntry.of("C", c7), TensorEntry.of("targets", t));
        assertError("--inputs " + badD + ": C must have shape [V, 8] (E is [4, 8]), got [10, 7]", "--inputs", badD.toString());
        Path badE = write("badE", TensorEntry.of("E", e1), TensorEntry.of("C", c), TensorEntry.of("targets", t));
        assertError("--inputs " + badE + ": E must have shape [N, D], got [32]", "--inputs", badE.toString());
        Path badT = write("badT", TensorEntry.of("E", e), TensorEntry.of("C", c), TensorEntry.of("targets", t3));
        assertError("--inputs " + badT + ": targets must have shape [4], got [3]", "--inputs", badT.toString());
        Path floatT = write("floatT", TensorEntry.of("E", e), TensorEntry.of("C", c), TensorEntry.of("targets", ti));
        assertError("--inputs " + floatT + ": targets must be int32 or int64, got f32", "--inputs", floatT.toString());
        Path outside = write("outside", TensorEntry.of("E", e), TensorEntry.of("C", c), TensorEntry.of("targets", far));
        assertError("--inputs " + outside + ": targets[3] = 10 is outside [0, 10)", "--inputs", outside.toString());
        Path good = write("good", TensorEntry.of("E", e), TensorEntry.of("C", c), TensorEntry.of("targets", t));
        assertError("--v 11 does not match --inputs " + good + " (E [4, 8], C [10, 8])", "--inputs", good.toString(), "--v", "11");
        CliRun ok = CliRun.of("bench-loss", "--inputs", good.toString(), "--n", "4", "--iters", "1", "--device", "cpu");
        assertEquals(0, ok.status(), ok.err());
        for (Tensor x : List.of(e, c, c7, t, t3, far, e1, ti)) x.close();
    }

    private Path write(String name, TensorEntry... entries) throws Exception {
        Path p = dir.resolve(name + ".safetensors");
        SafetensorsWriter.write(p, Map.of(), List.of(entries));
        return p;
    }

    private static void assertError(String expected, String... args) {
        List<String> all = new ArrayList<>(List.of("bench-loss", "--iters", "1", "--device", "cpu"));
        all.addAll(List.of(args));
        CliRun run = CliRun.of(all.toArray(String[]::new));
        assertEquals(2, run.status(), run.err());
        assertEquals("bench-loss: error: " + expected, run.errorLine());
    }
}
