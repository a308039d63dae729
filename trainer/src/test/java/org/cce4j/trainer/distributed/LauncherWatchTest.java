package org.cce4j.trainer.distributed;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rank whose launcher is killed outright (SIGKILL: the launcher cannot pass anything on) stops by
 * itself with one line and status 143, as real processes: a stand-in launcher (a sleeping process) and
 * a stand-in rank (a JVM running {@link LauncherWatchChild}).
 */
class LauncherWatchTest {
    private static Process rank(long launcherPid) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), LauncherWatchChild.class.getName());
        pb.environment().put(LauncherWatch.VARIABLE, Long.toString(launcherPid));
        pb.environment().put("RANK", "1");
        pb.redirectErrorStream(true);
        return pb.start();
    }

    @Test
    void aRankStopsWhenItsLauncherIsKilled() throws Exception {
        Process launcher = new ProcessBuilder("sleep", "300").start();
        Process rank = rank(launcher.pid());
        try {
            String first = new String(rank.getInputStream().readNBytes("watching true".length()), StandardCharsets.UTF_8);
            assertEquals("watching true", first, "the rank watches its launcher");
            assertTrue(rank.isAlive(), "the rank runs while its launcher does");
            launcher.destroyForcibly().waitFor();
            assertTrue(rank.waitFor(30, TimeUnit.SECONDS), "the rank did not stop within 30 s of its launcher's death");
            String out = new String(rank.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(LauncherWatch.STATUS, rank.exitValue(), out);
            assertTrue(out.contains("train: rank 1: its launcher (train --gpus, pid " + launcher.pid() + ") exited; this rank stops"), out);
        } finally {
            launcher.destroyForcibly();
            rank.destroyForcibly();
        }
    }

    @Test
    void aRankWhoseLauncherIsGoneAlreadyStopsAtOnce() throws Exception {
        Process launcher = new ProcessBuilder("true").start();
        launcher.waitFor();
        Process rank = rank(launcher.pid());
        try {
            assertTrue(rank.waitFor(30, TimeUnit.SECONDS), "the rank did not stop");
            String out = new String(rank.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(LauncherWatch.STATUS, rank.exitValue(), out);
            assertTrue(out.contains("exited; this rank stops"), out);
        } finally {
            rank.destroyForcibly();
        }
    }

    @Test
    void withoutTheVariableNothingIsWatched() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertFalse(LauncherWatch.start(Map.of("RANK", "0"), new PrintStream(err)));
        assertFalse(LauncherWatch.start(Map.of(LauncherWatch.VARIABLE, "not a pid"), new PrintStream(err)));
        assertEquals(0, err.size());
    }

    @Test
    void theLauncherNamesItselfToEachRankAndTheRankParsesIt() {
        Map<String, String> vars = RankLauncher.rankVariables(4, 2, 29500, 4242);
        assertEquals(Map.of("WORLD_SIZE", "4", "RANK", "2", "LOCAL_RANK", "2", "LOCAL_WORLD_SIZE", "4", "MASTER_ADDR", "127.0.0.1",
                "MASTER_PORT", "29500", LauncherWatch.VARIABLE, "4242"), vars);
        DistributedEnv env = DistributedEnv.parse(vars);
        assertEquals(2, env.rank());
        assertEquals(4, env.worldSize());
    }
}
