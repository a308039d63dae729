package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train --gpus N: what each rank is started with, and how the ranks are supervised — with small bash
 * children standing in for the training processes: output, a failing rank, forwarded signals.
 */
class RankLauncherTest {
    @Test
    void eachRankGetsTheArgumentsWithItsOwnGpu() {
        List<String> args = List.of("--config", "/r/run.yaml", "--gpus", "4", "--set", "train.lr=1e-4", "--device", "cuda", "--verbose");
        assertEquals(List.of("--config", "/r/run.yaml", "--set", "train.lr=1e-4", "--device", "cuda:3", "--verbose"), RankLauncher.childArguments(args, 3));
        assertEquals(List.of("--device=cuda:1"), RankLauncher.childArguments(List.of("--gpus=2", "--device=cuda:0"), 1));
        assertEquals(List.of("--device", "cpu"), RankLauncher.childArguments(List.of("--device", "cpu"), 2), "CPU ranks stay on the CPU");
        assertEquals(List.of("--resume", "/r"), RankLauncher.childArguments(List.of("--resume", "/r"), 1), "no --device: the rank resolves it");
    }

    @Test
    void theRanksRunThisJvmsMain() {
        List<String> cmd = RankLauncher.jvmCommand();
        assertTrue(cmd.get(0).endsWith("java"), cmd.get(0));
        assertEquals("org.cce4j.trainer.cli.Main", cmd.get(cmd.size() - 1));
        assertEquals(System.getProperty("java.class.path"), cmd.get(cmd.size() - 2));
    }

    @Test
    void notInsideAnotherLauncher() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> RankLauncher.launch(2, List.of(), Map.of("WORLD_SIZE", "8"), new PrintWriter(System.out), new PrintWriter(System.err)));
        assertEquals("--gpus 2: this process is a rank already (WORLD_SIZE=8, set by torchrun, srun or train --gpus); leave out --gpus where a launcher starts the ranks",
                e.getMessage());
    }

    record Run(int status, String out, String err) {}

    static Run supervise(List<String> scripts, java.util.function.Consumer<RankSupervisor> onStart) throws Exception {
        return supervise(scripts, (s, out, err) -> onStart.accept(s));
    }

    interface OnStart {
        void accept(RankSupervisor s, ByteArrayOutputStream out, ByteArrayOutputStream err);
    }

    static Run supervise(List<String> scripts, OnStart onStart) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        List<RankSupervisor.Child> children = new java.util.ArrayList<>();
        for (int k = 0; k < scripts.size(); k++) children.add(new RankSupervisor.Child(List.of("bash", "-c", scripts.get(k)), Map.of("RANK", "" + k)));
        int status = RankSupervisor.run(children, new PrintWriter(out, true), new PrintWriter(err, true), sv -> onStart.accept(sv, out, err));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void rankZeroPassesThroughAndTheOthersArePrefixed() throws Exception {
        String both = "echo out of $RANK; echo '" + RankSupervisor.INCUBATOR_WARNING + "' >&2; echo err of $RANK >&2";
        Run r = supervise(List.of(both, both), s -> {});
        assertEquals(0, r.status());
        assertEquals("out of 0\n", r.out());
        assertTrue(r.err().contains("err of 0\n"), r.err());
        assertTrue(r.err().contains("[rank 1] out of 1\n") && r.err().contains("[rank 1] err of 1\n"), r.err());
        assertFalse(r.err().contains("incubator"), "the JVM's warning is dropped: " + r.err());
    }

    @Test
    void aFailingRankStopsTheOthers() throws Exception {
        // rank 0 would run for a minute; rank 2 fails at once; rank 1 exits by itself with an error, as a rank whose collective failed does
        Run r = supervise(List.of("sleep 60; echo finished", "sleep 0.5; echo 'train: error: allReduceSum failed' >&2; exit 1",
                "echo 'train: error: rank 2 broke' >&2; exit 7"), s -> {});
        assertEquals(7, r.status());
        assertFalse(r.out().contains("finished"), "rank 0 was killed");
        assertTrue(r.err().contains("[rank 2] train: error: rank 2 broke"), r.err());
        assertTrue(r.err().strip().endsWith("train: rank 2 exited with status 7; stopped the other ranks"), r.err());
    }

    @Test
    void signalsAreForwardedAndTheirStatusIsTheJobs() throws Exception {
        String trap = "trap 'echo stopping $RANK >&2; exit 143' TERM; echo ready; for i in $(seq 600); do sleep 0.1; done";
        Run r = supervise(List.of(trap, trap), (s, out, err) -> {
            try {
                for (int i = 0; i < 600 && !(out.toString().contains("ready") && err.toString().contains("[rank 1] ready")); i++) Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            s.forward("TERM");   // both have set their traps
        });
        assertEquals(143, r.status(), r.err());
        assertTrue(r.err().contains("stopping 0") && r.err().contains("[rank 1] stopping 1"), r.err());
        assertFalse(r.err().contains("exited with status"), "a stop that was asked for is no failure: " + r.err());
    }
}
