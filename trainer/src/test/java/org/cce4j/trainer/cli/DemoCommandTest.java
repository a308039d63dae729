package org.cce4j.trainer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code demo loss} checks its sizes before it works: one line naming the option, exit 2, and nothing
 * printed on stdout. {@code demo} without its texts says in one line how to fetch them.
 */
class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void refusesNonPositiveSizesBeforeItStarts() {
        String[][] cases = {{"--n", "-1"}, {"--v", "0"}, {"--d", "0"}, {"--n", "ten"}};
        String[] says = {"must be positive, got -1", "must be positive, got 0", "must be positive, got 0", "expected a positive whole number, got 'ten'"};
        for (int i = 0; i < cases.length; i++) {
            CliRun run = CliRun.of("demo", "loss", cases[i][0], cases[i][1]);
            assertEquals(2, run.status(), run.err());
            assertEquals("demo loss: error: invalid value for " + cases[i][0] + ": " + says[i] + " (see 'cce4j demo loss --help')", run.errorLine());
            assertEquals("", run.out(), "nothing runs");
        }
    }

    @Test
    void refusesSizesItsInputGeneratorCannotHold() {
        CliRun run = CliRun.of("demo", "loss", "--v", "2000000000", "--d", "2");
        assertEquals(2, run.status(), run.err());
        assertTrue(run.errorLine().contains("--v × --d = 4,000,000,000 elements"), run.err());
        assertEquals("", run.out());
    }

    /** The table's two losses, CCE's and the materialized baseline's (an independent computation), agree. */
    @Test
    void theLossTableShowsBothImplementationsAgreeing() {
        CliRun run = CliRun.of("demo", "loss", "--n", "64", "--d", "16", "--v", "500");
        assertEquals(0, run.status(), run.err());
        double cce = Double.NaN, baseline = Double.NaN;
        for (String l : run.out().lines().toList()) {
            String[] f = l.trim().split("\\s+");
            if (f[0].equals("cce")) cce = Double.parseDouble(f[1]);
            if (f[0].equals("baseline")) baseline = Double.parseDouble(f[1]);
        }
        assertTrue(Double.isFinite(cce) && Double.isFinite(baseline), run.out());
        assertEquals(baseline, cce, 1e-5 * Math.abs(baseline), run.out());
        assertTrue(run.out().contains("same answer: loss"), run.out());
    }

    @Test
    void withoutItsTextsTheDemoSaysHowToFetchThem() {
        CliRun run = CliRun.of("demo", "--data", dir.resolve("none").toString(), "--output", dir.resolve("out").toString());
        assertEquals(2, run.status(), run.err());
        assertEquals("demo: error: no demo data in " + dir.resolve("none") + " (the build fetches it when online): run tools/fetch-demo-data.sh, then ./cce4j demo",
                run.errorLine());
        assertEquals("", run.out());
    }
}
