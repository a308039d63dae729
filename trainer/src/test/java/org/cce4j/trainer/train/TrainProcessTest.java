package org.cce4j.trainer.train;

import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real `train` process killed with SIGKILL in the middle of a checkpoint, and one interrupted with
 * SIGINT: the previous checkpoint stays whole, the interrupted one writes its own and exits 130, and
 * resuming either finishes with the metrics of a run never stopped.
 */
class TrainProcessTest {
    @TempDir
    Path dir;

    private Process start(Path config, Path log, String... props) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        // the same kernels as this JVM (the Vector API's or the scalar ones): their reductions differ in order
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-modules") || a.startsWith("--enable-native-access") || a.startsWith("-XX:+Use")) cmd.add(a);
        }
        if (cmd.stream().noneMatch(a -> a.startsWith("--enable-native-access"))) cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        for (String p : props) cmd.add("-D" + p);
        cmd.addAll(List.of("org.cce4j.trainer.cli.Main", "train", "--config", config.toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static void await(String what, BooleanSupplier condition, Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            if (!p.isAlive()) fail(what + ": the process ended first (" + p.exitValue() + "):\n" + Files.readString(log));
            if (System.nanoTime() > deadline) fail(what + ": not within 120 s:\n" + Files.readString(log));
            Thread.sleep(20);
        }
    }

    private static boolean tempFolderOf(Path checkpoints, String name) {
        try (Stream<Path> s = Files.list(checkpoints)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith("." + name + ".tmp-"));
        } catch (IOException e) {
            return false;
        }
    }

    private List<MetricsRecord> uninterrupted(Path config) throws IOException {
        Trainer.run(TrainConfig.read(config, List.of("output=reference")), TrainResumeTest.quiet(new ByteArrayOutputStream()));
        return MetricsLog.read(dir.resolve("reference").resolve(RunFolder.METRICS));
    }

    private static void assertSameMetrics(List<MetricsRecord> expected, List<MetricsRecord> actual) {
        assertEquals(expected.size(), actual.size(), "records");
        for (int i = 0; i < expected.size(); i++) {
            for (String k : TrainResumeTest.EXACT) {
                if (expected.get(i).has(k)) assertEquals(expected.get(i).get(k), actual.get(i).get(k), k + " of record " + i);
            }
        }
    }

    @Test
    void killDuringACheckpointLeavesThePreviousOneWholeAndResumable() throws Exception {
        Path config = TinyRun.setUp(dir, "");
        Path run = dir.resolve("run"), checkpoints = run.resolve(RunFolder.CHECKPOINTS), log = dir.resolve("child.log");
        Process p = start(config, log, "cce4j.test.checkpointPauseAt=4", "cce4j.test.checkpointPauseMs=120000");
        try {
            await("the write of checkpoint 4", () -> tempFolderOf(checkpoints, "step-4")
                    && readQuietly(log).contains("checkpoint write paused"), p, log);
            p.destroyForcibly();    // SIGKILL on Linux: no handler, no cleanup
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, p.exitValue(), "killed by SIGKILL");
        } finally {
            p.destroyForcibly();
        }
        RunFolder folder = RunFolder.prepare(run, true, false);
        assertEquals(List.of(2L), folder.checkpointSteps(), "step-2 whole, step-4 never published");
        assertFalse(Files.exists(folder.checkpoint(4)));
        assertTrue(tempFolderOf(checkpoints, "step-4"), "the half-written checkpoint is a hidden temporary folder");

        Trainer.Result r = Trainer.run(TrainConfig.read(run.resolve(RunFolder.CONFIG), List.of()),
                TrainResumeTest.quiet(new ByteArrayOutputStream()).withResume(true));
        assertEquals(6, r.steps());
        assertFalse(tempFolderOf(checkpoints, "step-4"), "resuming removed the leftover");
        assertSameMetrics(uninterrupted(config), MetricsLog.read(run.resolve(RunFolder.METRICS)));
    }

    @Test
    void sigintFinishesTheStepWritesACheckpointAndExits130() throws Exception {
        Path config = TinyRun.setUp(dir, "");
        Files.writeString(config, Files.readString(config).replace("epochs: 2", "epochs: 16"));    // 48 steps
        Path run = dir.resolve("run"), log = dir.resolve("child.log");
        Process p = start(config, log);
        try {
            await("the first steps", () -> Files.exists(run.resolve(RunFolder.METRICS)) && readQuietly(run.resolve(RunFolder.METRICS)).lines().count() >= 3, p, log);
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits after the signal");
            assertEquals(130, p.exitValue(), Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
        List<MetricsRecord> written = MetricsLog.read(run.resolve(RunFolder.METRICS));
        long last = written.get(written.size() - 1).step();
        RunFolder folder = RunFolder.prepare(run, true, false);
        assertEquals(last, folder.newestCheckpoint().orElseThrow(), "the checkpoint is of the last step taken");
        assertTrue(last < 48, "stopped early (at step " + last + ")");
        assertTrue(Files.readString(log).contains("stopped by SIGINT after step " + last), Files.readString(log));

        Trainer.run(TrainConfig.read(run.resolve(RunFolder.CONFIG), List.of()), TrainResumeTest.quiet(new ByteArrayOutputStream()).withResume(true));
        assertSameMetrics(uninterrupted(config), MetricsLog.read(run.resolve(RunFolder.METRICS)));
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
