package org.cce4j.examples;

import org.cce4j.trainer.cli.Main;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example programs run as {@code ./cce4j example NAME ARGS} runs them (the trainer's {@code example}
 * command, with this module on the class path): every one answers --help with its usage, a mistake in
 * the arguments is one line and exit 2 before any work, and an unknown NAME lists the programs there are.
 */
class ExampleCommandLineTest {
    static final List<String> PROGRAMS = List.of("CheckpointLoadBenchmark", "CompareOnTheCpu", "CpuCceBenchmark", "CpuTrainStepBenchmark", "GemmBenchmark", "GpuLossBenchmark", "LossAsALibrary", "ModelBenchmark", "TrainFromJava");

    /** One in-process run: exit status, the programs' standard output, and the command line's stderr. */
    record Run(int status, String out, String err) {
        String errorLine() {
            String e = err.strip();
            if (e.contains("\n") || e.contains("\tat ")) throw new AssertionError("expected one line on stderr, got:\n" + err);
            return e;
        }
    }

    static Run run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream programOut = new ByteArrayOutputStream();
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status;
        try {
            System.setOut(new PrintStream(programOut, true, StandardCharsets.UTF_8));
            status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        } finally {
            System.setOut(saved);
        }
        return new Run(status, out + programOut.toString(StandardCharsets.UTF_8), err.toString());
    }

    @Test
    void everyProgramAnswersHelpWithItsUsage() {
        for (String name : PROGRAMS) {
            Run r = run("example", name, "--help");
            assertEquals(0, r.status(), name + ": " + r.err());
            assertTrue(r.out().startsWith("usage: ./cce4j example " + name), name + " printed: " + r.out());
        }
    }

    @Test
    void anUnknownNameListsThePrograms() {
        Run r = run("example", "Nope");
        assertEquals(2, r.status(), r.err());
        assertEquals("example: error: no example named 'Nope'; the examples are " + String.join(", ", PROGRAMS), r.errorLine());
        assertEquals(2, run("example", "ExampleArgs").status(), "a helper class is not a program");
    }

    @Test
    void badArgumentsAreOneLineBeforeAnyWork() {
        String[][] cases = {
            {"ModelBenchmark", "--bogus"}, {"ModelBenchmark", "--seq"}, {"ModelBenchmark", "--batch", "4,0"},
            {"GpuLossBenchmark", "--n", "-1"}, {"GpuLossBenchmark", "--dtype", "f7"}, {"GpuLossBenchmark", "--inputs", "zipf"},
            {"CpuCceBenchmark", "0"}, {"CpuCceBenchmark", "5", "6"}, {"CheckpointLoadBenchmark", "/tmp/x", "many"},
            {"CpuTrainStepBenchmark", "--steps", "0"}, {"CpuTrainStepBenchmark", "--heads", "3"},
            {"GemmBenchmark", "--shapes", "2048"}, {"GemmBenchmark", "--tokens", "0"},
        };
        String[] mustSay = {"unknown option --bogus", "--seq needs a value", "--batch: must be positive, got 0",
            "--n: must be positive, got -1", "--dtype", "--inputs: must be paper, uniform or trained, got zipf", "ITERS: must be positive, got 0", "unexpected argument '6'", "REPS: expected a whole number, got 'many'",
            "--steps: must be positive, got 0", "--heads 3 is not a multiple of --kv-heads 2",
            "--shapes: expected OUTxIN, got 2048", "--tokens: must be positive, got 0"};
        for (int i = 0; i < cases.length; i++) {
            String[] args = new String[cases[i].length + 1];
            args[0] = "example";
            System.arraycopy(cases[i], 0, args, 1, cases[i].length);
            Run r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.errorLine().contains(mustSay[i]), String.join(" ", args) + ": " + r.err());
        }
    }

    @Test
    void aProgramRunsWithItsArguments() {
        Run r = run("example", "LossAsALibrary");
        assertEquals(0, r.status(), r.err());
        // hidden ~ N(0, 1), head ~ N(0, 0.02²), D = 128: logits ~ N(0, σ² = 128·0.02² = 0.0512), so the mean loss over
        // its 112 counted tokens is ln V + σ²/2 (the LSE of small logits) give or take 0.02 (√(σ²/112))
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^loss (\\S+) \\(ln V = (\\S+)\\)").matcher(r.out());
        assertTrue(m.find(), r.out());
        double loss = Double.parseDouble(m.group(1)), lnV = Double.parseDouble(m.group(2));
        assertEquals(Math.log(32_000), lnV, 1e-4);
        assertEquals(lnV + 0.0512 / 2, loss, 0.1, r.out());
    }
}
