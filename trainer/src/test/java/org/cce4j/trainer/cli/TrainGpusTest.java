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
 * {@code train --gpus N} from the command line: its errors are one line before any process starts, and
 * — where the build has a communicator between processes — two real CPU ranks train as one process does.
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
        if (!Communicators.crossProcessTransport()) {
            CliRun two = CliRun.of("train", "--config", cfg.toString(), "--gpus", "2", "--device", "cpu");
            assertEquals(2, two.status());
            assertEquals("train: error: --gpus 2: this build has no communicator between processes yet (NCCL, TCP: org.cce4j.core.dist); train on one GPU",
                    two.errorLine());
        }
    }

    @Test
    void theRanksAreRealProcessesThatFindTheirPlaceInTheEnvironment() throws Exception {
        assumeTrue(!Communicators.crossProcessTransport(), "with a transport, twoCpuRanksInTheirOwnProcessesTrainAsOne runs the ranks to the end");
        Path cfg = setUp();
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        for (String v : List.of("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_PROCID")) env.remove(v);
        // past TrainCommand's check: each rank reads its RANK and WORLD_SIZE, asks Communicators, and stops with its one line
        int status = org.cce4j.trainer.distributed.RankLauncher.launch(2, List.of("--config", cfg.toString(), "--device", "cpu"), env,
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        String e = err.toString();
        assertEquals(2, status, e);
        String line = "train: error: WORLD_SIZE 2: training on several processes needs the TCP host communicator of org.cce4j.core.dist";
        assertTrue(e.lines().anyMatch(l -> l.startsWith(line)), "rank 0's error as it is: " + e);
        assertTrue(e.lines().anyMatch(l -> l.startsWith("[rank 1] " + line)), "rank 1's prefixed: " + e);
        assertTrue(e.strip().lines().reduce((x, y) -> y).orElse("").matches("train: rank [01] exited with status 2; stopped the other ranks"), e);
        assertTrue(e.startsWith("train: 2 ranks on this node (one process each), rendezvous at 127.0.0.1:"), e);
    }

    @Test
    void twoCpuRanksInTheirOwnProcessesTrainAsOne() throws Exception {
        assumeTrue(Communicators.crossProcessTransport(),
                "skipped: Communicators has no cross-process transport in this build (the TCP communicator of org.cce4j.core.dist is not wired in)");
        Path cfg = setUp();
        CliRun one = CliRun.of("train", "--config", cfg.toString(), "--set", "output=one");
        assertEquals(0, one.status(), one.err());
        List<String> cmd = new ArrayList<>(List.of(Processes.java(), "--enable-native-access=ALL-UNNAMED", "-cp", Processes.classPath(),
                "org.cce4j.trainer.cli.Main", "train", "--config", cfg.toString(), "--set", "output=two", "--gpus", "2", "--device", "cpu"));
        Processes.Result two = Processes.run(dir, Map.of(), cmd);
        assertEquals(0, two.status(), two.err());
        assertTrue(two.err().contains("train: 2 ranks on this node"), two.err());
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
}
