package org.cce4j.trainer.train;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run stopped after a checkpoint and resumed writes the same metrics, step for step and bit for bit,
 * as the run never stopped, and ends with the same weights: on the CPU every kernel sums in a fixed
 * order, the checkpoint holds every number the loop carries (weights, moments, step, data position),
 * and dropout and shuffling are functions of (seed, step), not of a generator's history. Only the
 * timing fields (tokens_per_s, mem_mb) differ by nature.
 */
class TrainResumeTest {
    @TempDir
    Path dir;

    static final List<String> EXACT = List.of("loss", "grad_norm", "lr", "tokens", "eval_loss", "eval_ppl", "eval_tokens");

    static Trainer.Options quiet(ByteArrayOutputStream sink) {
        return Trainer.Options.defaults().withErr(new PrintStream(sink, true), false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"full", "lora"})
    void aResumedRunEqualsAnUninterruptedOne(String kind) throws IOException {
        String extra = kind.equals("lora") ? "lora:\n  r: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: [q_proj, v_proj, down_proj]\n" : "";
        Path cfgFile = TinyRun.setUp(dir, extra);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();

        TrainConfig straight = TrainConfig.read(cfgFile, List.of("output=straight"));
        Trainer.Result a = Trainer.run(straight, quiet(sink));
        assertEquals(6, a.steps());

        TrainConfig stopped = TrainConfig.read(cfgFile, List.of("output=stopped"));
        Trainer.Result b = Trainer.run(stopped, quiet(sink).withSignals(StopSignals.afterPolls(3)));
        assertEquals("TERM", b.stoppedBy());
        assertEquals(3, b.steps());
        RunFolder run = RunFolder.prepare(dir.resolve("stopped"), true, false);
        assertEquals(List.of(2L, 3L), run.checkpointSteps(), "the regular checkpoint at 2 and the one the stop wrote at 3");

        Trainer.Result c = Trainer.run(TrainConfig.read(dir.resolve("stopped").resolve(RunFolder.CONFIG), List.of()), quiet(sink).withResume(true));
        assertEquals(6, c.steps());
        assertEquals(null, c.stoppedBy());

        List<MetricsRecord> ra = MetricsLog.read(dir.resolve("straight").resolve(RunFolder.METRICS));
        List<MetricsRecord> rc = MetricsLog.read(dir.resolve("stopped").resolve(RunFolder.METRICS));
        assertEquals(ra.size(), rc.size(), "records");
        assertTrue(ra.stream().anyMatch(MetricsRecord::isEval), "evaluations were logged");
        for (int i = 0; i < ra.size(); i++) {
            assertEquals(ra.get(i).step(), rc.get(i).step());
            for (String k : EXACT) {
                if (ra.get(i).has(k)) assertEquals(ra.get(i).get(k), rc.get(i).get(k), k + " at record " + i + " (step " + ra.get(i).step() + ")");
            }
        }
        Path fa = dir.resolve("straight").resolve(RunFolder.FINAL), fc = dir.resolve("stopped").resolve(RunFolder.FINAL);
        String weights = kind.equals("lora") ? "adapter_model.safetensors" : "model.safetensors";
        try (SafetensorsFile x = SafetensorsFile.open(fa.resolve(weights)); SafetensorsFile y = SafetensorsFile.open(fc.resolve(weights))) {
            assertEquals(x.names(), y.names());
            for (String n : x.names()) assertArrayEquals(x.tensor(n).toFloatArray(), y.tensor(n).toFloatArray(), n);
        }
        assertTrue(Files.isRegularFile(dir.resolve("stopped").resolve(RunFolder.PLOT)));
    }

    @org.junit.jupiter.api.Test
    void aPackedRunResumesToTheSameMetrics() throws IOException {
        Path cfgFile = TinyRun.setUp(dir, "");
        List<String> packed = List.of("data.packing=true", "data.seq_len=32", "train.epochs=3", "save.every_steps=1");
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        List<String> a = new java.util.ArrayList<>(packed);
        a.add("output=straight");
        Trainer.Result straight = Trainer.run(TrainConfig.read(cfgFile, a), quiet(sink));
        assertTrue(straight.steps() >= 4, "steps: " + straight.steps());
        assertTrue(sink.toString().contains("rows packed into sequences of 32, padding"), sink.toString());
        List<String> b = new java.util.ArrayList<>(packed);
        b.add("output=stopped");
        Trainer.run(TrainConfig.read(cfgFile, b), quiet(sink).withSignals(StopSignals.afterPolls(2)));
        Trainer.run(TrainConfig.read(dir.resolve("stopped").resolve(RunFolder.CONFIG), List.of()), quiet(sink).withResume(true));
        List<MetricsRecord> ra = MetricsLog.read(dir.resolve("straight").resolve(RunFolder.METRICS));
        List<MetricsRecord> rc = MetricsLog.read(dir.resolve("stopped").resolve(RunFolder.METRICS));
        assertEquals(ra.size(), rc.size());
        for (int i = 0; i < ra.size(); i++) {
            for (String k : EXACT) if (ra.get(i).has(k)) assertEquals(ra.get(i).get(k), rc.get(i).get(k), k + " at record " + i);
        }
    }
}
