package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.testing.RelativeError;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `train` and `merge` from the command line: what a user sees when a run goes wrong (one line, the right
 * exit status, the last checkpoint untouched) and that a merged adapter is the adapted model.
 */
class TrainCommandTest {
    @TempDir
    Path dir;

    private Path setUp(String extra) throws IOException {
        return org.cce4j.trainer.train.TinyRunAccess.setUp(dir, extra);
    }

    @Test
    void aNonFiniteLossStopsTheRunBeforeTheUpdateAndKeepsTheLastCheckpoint() throws IOException {
        // lr 1e38: step 1 (lr from step 1: no warmup) throws the weights to ~1e38, step 2 overflows
        Path cfg = setUp("");
        CliRun r = CliRun.of("train", "--config", cfg.toString(), "--set", "train.lr=1e38", "--set", "train.warmup_steps=0",
                "--set", "save.every_steps=1", "--set", "data.validation=null", "--verbose");
        assertEquals(TrainCommand.HALTED, r.status(), r.err());
        String line = r.err().lines().filter(l -> l.startsWith("train: stopped:")).findFirst().orElse("");
        assertTrue(line.matches("train: stopped: step 2: the (loss|gradient norm) is (NaN|Infinity); stopped before updating the weights "
                + "\\(the last checkpoint, checkpoints/step-1, is intact\\); first non-finite tensor: .*"), line);
        RunFolder run = RunFolder.prepare(dir.resolve("run"), true, false);
        assertEquals(List.of(1L), run.checkpointSteps());
        assertFalse(Files.exists(run.finalModel()));
    }

    @Test
    void badRowsAndConfigsAreOneLineWithStatus2() throws IOException {
        Path cfg = setUp("");
        Files.writeString(dir.resolve("rows.jsonl"), Files.readString(dir.resolve("rows.jsonl")) + "{\"input_ids\": [1, 2, 999]}\n");
        CliRun bad = CliRun.of("train", "--config", cfg.toString());
        assertEquals(2, bad.status());
        assertEquals(1, bad.err().lines().count(), bad.err());
        assertTrue(bad.err().startsWith("train: error: " + dir.resolve("rows.jsonl") + ":11: "), bad.err());

        CliRun unknown = CliRun.of("train", "--config", cfg.toString(), "--set", "train.epoch=3");
        assertEquals(2, unknown.status());
        assertEquals("train: error: --set train.epoch: unknown key (did you mean train.epochs?)", unknown.err().strip());

        CliRun neither = CliRun.of("train");
        assertEquals(2, neither.status());
        assertTrue(neither.err().contains("give --config FILE (a new run) or --resume RUN"), neither.err());
    }

    @Test
    void aFolderHoldingARunIsRefusedUnlessOverwrittenOrResumed() throws IOException {
        Path cfg = setUp("");
        assertEquals(0, CliRun.of("train", "--config", cfg.toString(), "--set", "train.epochs=1").status());
        CliRun again = CliRun.of("train", "--config", cfg.toString());
        assertEquals(2, again.status());
        assertTrue(again.err().contains("holds a run already: --resume " + dir.resolve("run") + " continues it, --overwrite starts it over"), again.err());
        CliRun finished = CliRun.of("train", "--resume", dir.resolve("run").toString());
        assertEquals(2, finished.status());
        assertTrue(finished.err().contains("the run is finished"), finished.err());
        assertEquals(0, CliRun.of("train", "--config", cfg.toString(), "--overwrite", "--set", "train.epochs=1").status());
        Files.writeString(dir.resolve("other"), "x");
        Files.createDirectories(dir.resolve("mine"));
        Files.writeString(dir.resolve("mine").resolve("notes.txt"), "keep me");
        CliRun foreign = CliRun.of("train", "--config", cfg.toString(), "--set", "output=mine", "--overwrite");
        assertEquals(2, foreign.status());
        assertTrue(foreign.err().contains("holds files that are not a run's (notes.txt)"), foreign.err());
        assertEquals("keep me", Files.readString(dir.resolve("mine").resolve("notes.txt")));
    }

    @Test
    void mergeFoldsTheAdapterSoTheMergedModelIsTheAdaptedOne() throws IOException {
        Path cfg = setUp("lora:\n  r: 4\n  alpha: 12\n  dropout: 0.0\n  target_modules: [q_proj, v_proj, gate_proj, down_proj]\n");
        assertEquals(0, CliRun.of("train", "--config", cfg.toString()).status());
        Path adapter = dir.resolve("run").resolve(RunFolder.FINAL), merged = dir.resolve("merged");
        CliRun m = CliRun.of("merge", "--model", dir.resolve("model").toString(), "--adapter", adapter.toString(), "--output", merged.toString());
        assertEquals(0, m.status(), m.err());
        assertTrue(m.out().startsWith("merged 8 adapted projections"), m.out());

        int[] ids = {5, 9, 14, 3, 22, 40, 7, 7, 31, 12, 18, 60};
        CpuBackend be = new CpuBackend();
        double adapted, folded;
        try (HfCheckpoint base = HfCheckpoint.open(dir.resolve("model")); LoraAdapter lora = LoraAdapter.open(adapter);
             TransformerModel model = new TransformerModel(base.config(), ParameterStore.load(base.config(), base.weights(), be), be)) {
            LoraAdapters.attach(model, lora.config(), lora, 0);
            try (var pass = model.forward(Batch.causal(1, ids.length, ids))) {
                adapted = model.loss(pass, CceImpl.CCE_EXACT, false);
            }
        }
        try (HfCheckpoint mc = HfCheckpoint.open(merged);
             TransformerModel model = new TransformerModel(mc.config(), ParameterStore.load(mc.config(), mc.weights(), be), be);
             var pass = model.forward(Batch.causal(1, ids.length, ids))) {
            folded = model.loss(pass, CceImpl.CCE_EXACT, false);
            assertEquals(DType.F32, mc.weights().info("model.layers.0.self_attn.q_proj.weight").dtype().dtype(), "the base's dtype");
        }
        RelativeError.assertClose(new double[] {adapted}, new double[] {folded}, 1e-5, "loss of the merged model");
        assertEquals(2, CliRun.of("merge", "--model", dir.resolve("model").toString(), "--adapter", adapter.toString(), "--output", merged.toString()).status(),
                "an existing output is refused");
    }
}
