package org.cce4j.trainer.cli;

import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.distributed.Communicators;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code train --gpus N} from the command line: its errors are one line before any process starts, two
 * real CPU ranks (processes over TCP) train as one process does, and a rank that fails stops the job.
 */
class TrainGpusTest {
    @TempDir
    Path dir;

    Path setUp() throws Exception {
        Path cfg = org.cce4j.trainer.train.TinyRunAccess.setUp(dir, "");
        Files.writeString(cfg, Files.readString(cfg).replace("grad_accum: 2", "grad_accum: 4"));
        return cfg;
    }

    @Test
    void badCountsAreOneLine() throws Exception {
        Path cfg = setUp();
        CliRun zero = CliRun.of("train", "--config", cfg.toString(), "--gpus", "0");
        assertEquals(2, zero.status());
        assertEquals("train: error: --gpus must be >= 1, got 0", zero.errorLine());
        CliRun three = CliRun.of("train", "--config", cfg.toString(), "--gpus", "3", "--device", "cpu");
        assertEquals(2, three.status());
        assertEquals("train: error: train.grad_accum 4 is not a multiple of the 3 ranks: each rank takes every 3-th micro-batch of a step "
                + "(set train.grad_accum to 3 or 6)", three.errorLine());
    }

    @Test
    void twoCpuRanksInTheirOwnProcessesTrainAsOne() throws Exception {
        assumeTrue(Communicators.crossProcessTransport(), "skipped: Communicators has no cross-process transport in this build");
        Path cfg = setUp();
        CliRun one = CliRun.of("train", "--config", cfg.toString(), "--set", "output=one");
        assertEquals(0, one.status(), one.err());
        List<String> cmd = new ArrayList<>(List.of(Processes.java(), "--enable-native-access=ALL-UNNAMED", "-cp", Processes.classPath(),
                "org.cce4j.trainer.cli.Main", "train", "--config", cfg.toString(), "--set", "output=two", "--gpus", "2", "--device", "cpu"));
        Processes.Result two = Processes.run(dir, Map.of(), cmd);
        assertEquals(0, two.status(), two.err());
        assertTrue(two.err().contains("train: 2 ranks on this node"), two.err());
        assertTrue(two.err().contains("train: data parallel over 2 ranks"), "rank 0's lines pass through: " + two.err());
        assertTrue(two.err().lines().noneMatch(l -> l.startsWith("[rank 1]")), "rank 1 prints nothing but errors: " + two.err());
        List<MetricsRecord> a = MetricsLog.read(dir.resolve("one").resolve(RunFolder.METRICS)), b = MetricsLog.read(dir.resolve("two").resolve(RunFolder.METRICS));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String k : List.of("loss", "grad_norm", "eval_loss")) {
                if (!a.get(i).has(k)) continue;
                double x = a.get(i).number(k), y = b.get(i).number(k);
                assertTrue(Math.abs(x - y) <= 1e-5 * Math.abs(x), k + " at step " + a.get(i).step() + ": " + x + " vs " + y);
            }
        }
    }

    @Test
    void ranksThatCannotStartStopTheJobWithTheirStatus() throws Exception {
        assumeTrue(Communicators.crossProcessTransport(), "skipped: no cross-process transport in this build");
        Path cfg = setUp();
        // no GPU here: the ranks cannot use cuda:0 and cuda:1; each says so in one line, exit 2, and the job stops with the first
        List<String> cmd = new ArrayList<>(List.of(Processes.java(), "--enable-native-access=ALL-UNNAMED", "-cp", Processes.classPath(),
                "org.cce4j.trainer.cli.Main", "train", "--config", cfg.toString(), "--set", "output=failing", "--gpus", "2", "--device", "cuda"));
        assumeTrue(org.cce4j.core.device.Devices.choose(null).device().isCpu(), "skipped: this machine has a GPU");
        Processes.Result r = Processes.run(dir, Map.of(), cmd);
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("train: error: device cuda:0 is not usable: ")), r.err());
        assertTrue(r.err().strip().lines().reduce((x, y) -> y).orElse("").matches("train: rank [01] exited with status 2; stopped the other ranks"), r.err());
    }
}
