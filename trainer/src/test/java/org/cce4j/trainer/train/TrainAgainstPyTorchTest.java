package org.cce4j.trainer.train;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `train` on the CPU against a plain PyTorch + transformers (+ PEFT) loop (tools/reference/train_reference.py)
 * on checkpoints and rows made for the test (tools/reference/train_fixtures.py): every step's loss,
 * grad_norm and lr within 1e-5 relative, the same target counts, and the final weights (or adapter)
 * within 1e-5 (relative Frobenius norm per tensor). Both sides compute in f32; what remains is summation
 * order, well under 1e-5 after a dozen AdamW steps.
 */
class TrainAgainstPyTorchTest {
    static final Path FIXTURES = Path.of("src/test/resources/train-reference");
    static final double TOL = 1e-5;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"llama_full", "gemma2_full", "llama_lora", "llama_max_steps_zero_clip"})
    void everyStepAndTheFinalWeightsMatchPyTorch(String name) throws IOException {
        Path fixture = FIXTURES.resolve(name);
        assertTrue(Files.isDirectory(fixture), fixture.toAbsolutePath() + " is missing: make it with tools/reference/train_fixtures.py");
        TrainConfig config = TrainConfig.read(fixture.resolve("config.yaml"), List.of("output=" + dir.resolve("run"), "device=cpu",
                "data.cache_dir=" + dir.resolve("token-cache")));
        Trainer.run(config, TrainResumeTest.quiet(new ByteArrayOutputStream()));

        List<MetricsRecord> expected = MetricsLog.read(fixture.resolve("expected").resolve(RunFolder.METRICS));
        List<MetricsRecord> actual = MetricsLog.read(dir.resolve("run").resolve(RunFolder.METRICS)).stream().filter(r -> !r.isEval()).toList();
        assertEquals(expected.size(), actual.size(), name + ": optimizer steps");
        double worst = 0;
        for (int i = 0; i < expected.size(); i++) {
            MetricsRecord e = expected.get(i), a = actual.get(i);
            assertEquals(e.step(), a.step());
            assertEquals(e.number("tokens"), a.number("tokens"), name + " step " + e.step() + ": tokens");
            for (String k : List.of("loss", "grad_norm", "lr")) {
                double ev = e.number(k), av = a.number(k);
                double rel = ev == 0 && av == 0 ? 0 : Math.abs(av - ev) / Math.abs(ev);
                assertTrue(rel <= TOL, name + " step " + e.step() + ": " + k + " " + av + " vs PyTorch's " + ev + " (relative " + rel + ")");
                worst = Math.max(worst, rel);
            }
        }
        Map<String, Tensor> theirs = tensors(fixture.resolve("expected").resolve(RunFolder.FINAL)), ours = tensors(dir.resolve("run").resolve(RunFolder.FINAL));
        assertEquals(theirs.keySet(), ours.keySet(), name + ": final tensors");
        double worstWeight = 0;
        for (String t : theirs.keySet()) {
            double[] e = theirs.get(t).toDoubleArray(), a = ours.get(t).toDoubleArray();
            RelativeError.assertClose(e, a, TOL, name + ": final " + t);
            double num = 0, den = 0;
            for (int i = 0; i < e.length; i++) {
                num += (a[i] - e[i]) * (a[i] - e[i]);
                den += e[i] * e[i];
            }
            worstWeight = Math.max(worstWeight, Math.sqrt(num / Math.max(den, 1e-300)));
        }
        System.out.printf("%s: %d steps, worst relative difference of loss/grad_norm/lr %.2e, of a final tensor %.2e%n",
                name, expected.size(), worst, worstWeight);
    }

    /** The tensors of a final/ folder (model.safetensors or adapter_model.safetensors), as host copies. */
    private static Map<String, Tensor> tensors(Path folder) throws IOException {
        Map<String, Tensor> out = new TreeMap<>();
        try (var files = Files.list(folder)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                    for (String n : sf.names()) out.put(n.replace(".default.", "."), sf.tensor(n).to(sf.tensor(n).dtype()));
                }
            }
        }
        return out;
    }
}
