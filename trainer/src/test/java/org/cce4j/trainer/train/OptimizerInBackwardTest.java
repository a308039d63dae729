package org.cce4j.trainer.train;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train.optimizer_in_backward updates each layer's parameters as soon as the backward has finished their
 * gradients. Each parameter's AdamW update reads only its own gradient and state, and without clipping
 * nothing else, so the run equals the ordinary one: the same weights to the bit, the same losses and
 * learning rates; the logged gradient norm is summed in the backward's order instead of the parameters'
 * (f64 sums of f32 squares: equal within 1e-12). Full fine-tuning (untied head) and LoRA with dropout.
 */
class OptimizerInBackwardTest {
    @TempDir
    Path dir;

    private static Trainer.Options quiet() {
        return Trainer.Options.defaults().withErr(new PrintStream(new ByteArrayOutputStream(), true), false);
    }

    private TrainConfig config(Path cfg, String output, boolean inBackward) {
        return TrainConfig.read(cfg, List.of("output=" + output, "train.grad_accum=1", "train.max_grad_norm=0",
                "train.optimizer_in_backward=" + inBackward, "eval.every_steps=2"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"full", "lora"})
    void updatingDuringTheBackwardEqualsUpdatingAfterIt(String kind) throws IOException {
        String lora = kind.equals("lora") ? "lora:\n  r: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: [q_proj, v_proj, down_proj]\n" : "";
        Path cfg = TinyRun.setUp(dir, lora);
        Trainer.Result after = Trainer.run(config(cfg, "after", false), quiet());
        Trainer.Result during = Trainer.run(config(cfg, "during", true), quiet());
        assertTrue(after.steps() >= 4, "steps: " + after.steps());
        assertEquals(after.steps(), during.steps());
        List<MetricsRecord> a = MetricsLog.read(dir.resolve("after").resolve(RunFolder.METRICS));
        List<MetricsRecord> d = MetricsLog.read(dir.resolve("during").resolve(RunFolder.METRICS));
        assertEquals(a.size(), d.size());
        for (int i = 0; i < a.size(); i++) {
            for (String k : List.of("loss", "lr", "tokens", "eval_loss", "eval_accuracy")) {
                if (a.get(i).has(k)) assertEquals(a.get(i).number(k), d.get(i).number(k), 0.0, k + " at step " + a.get(i).step());
            }
            if (a.get(i).has("grad_norm")) {
                double x = a.get(i).number("grad_norm"), y = d.get(i).number("grad_norm");
                assertEquals(x, y, 1e-12 * x, "grad_norm at step " + a.get(i).step());
            }
        }
        String weights = kind.equals("lora") ? "adapter_model.safetensors" : "model.safetensors";
        try (SafetensorsFile x = SafetensorsFile.open(dir.resolve("after/final").resolve(weights));
             SafetensorsFile y = SafetensorsFile.open(dir.resolve("during/final").resolve(weights))) {
            assertEquals(new java.util.TreeSet<>(x.names()), new java.util.TreeSet<>(y.names()));
            for (String n : x.names()) {
                float[] u = x.tensor(n).toFloatArray(), v = y.tensor(n).toFloatArray();
                for (int i = 0; i < u.length; i++) {
                    assertEquals(Float.floatToRawIntBits(u[i]), Float.floatToRawIntBits(v[i]), n + " element " + i + ": " + u[i] + " vs " + v[i]);
                }
            }
        }
    }

    @Test
    void itNeedsNoClippingAndOneMicroBatchPerStep() throws IOException {
        Path cfg = TinyRun.setUp(dir, "");
        InvalidInputException clip = assertThrows(InvalidInputException.class, () -> TrainConfig.read(cfg,
                List.of("train.optimizer_in_backward=true", "train.grad_accum=1", "train.max_grad_norm=1.0")));
        assertTrue(clip.getMessage().contains("train.optimizer_in_backward needs train.max_grad_norm: 0"), clip.getMessage());
        InvalidInputException accum = assertThrows(InvalidInputException.class, () -> TrainConfig.read(cfg,
                List.of("train.optimizer_in_backward=true", "train.grad_accum=2", "train.max_grad_norm=0")));
        assertTrue(accum.getMessage().contains("train.optimizer_in_backward needs train.grad_accum: 1"), accum.getMessage());
    }
}
