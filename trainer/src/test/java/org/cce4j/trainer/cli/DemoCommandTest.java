package org.cce4j.trainer.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code demo} checks its sizes before it works: one line naming the option, exit 2, and nothing printed on stdout. */
class DemoCommandTest {
    @Test
    void refusesNonPositiveSizesBeforeItStarts() {
        String[][] cases = {{"--n", "-1"}, {"--v", "0"}, {"--d", "0"}, {"--n", "ten"}};
        String[] says = {"must be positive, got -1", "must be positive, got 0", "must be positive, got 0", "expected a positive whole number, got 'ten'"};
        for (int i = 0; i < cases.length; i++) {
            CliRun run = CliRun.of("demo", cases[i][0], cases[i][1]);
            assertEquals(2, run.status(), run.err());
            assertEquals("demo: error: invalid value for " + cases[i][0] + ": " + says[i] + " (see 'cce4j demo --help')", run.errorLine());
            assertEquals("", run.out(), "nothing runs");
        }
    }

    @Test
    void refusesSizesItsInputGeneratorCannotHold() {
        CliRun run = CliRun.of("demo", "--v", "2000000000", "--d", "2");
        assertEquals(2, run.status(), run.err());
        assertTrue(run.errorLine().contains("--v × --d = 4,000,000,000 elements"), run.err());
        assertEquals("", run.out());
    }
}
