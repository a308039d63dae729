package org.cce4j.trainer.metrics;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plain-line display: its format, its cadence and its ETA, with a fake clock; and the bar's messages. */
class ProgressTest {
    static final long SECOND = 1_000_000_000L;

    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    final AtomicLong clock = new AtomicLong(1_000 * SECOND);

    List<String> lines() {
        return bytes.toString(StandardCharsets.UTF_8).lines().toList();
    }

    static double loss(long step) {
        return 4.0 / step + 1.0;
    }

    /** The EMA of loss(first..step), written out: s = 0.9 s + 0.1 x, starting from loss(first). */
    static double smoothed(long first, long step) {
        double s = loss(first);
        for (long k = first + 1; k <= step; k++) s = 0.9 * s + 0.1 * loss(k);
        return s;
    }

    @Test
    void printsALineEveryLogEveryStepsAndAtTheLastStep() {
        try (Progress p = new Progress(out, false, 25, 0, 10, clock::get)) {
            for (long step = 1; step <= 25; step++) {
                clock.addAndGet(2 * SECOND);
                p.update(step, loss(step), 1.8e-5, 41210.4, 10244.2);
            }
        }
        assertEquals(List.of(
                String.format(Locale.ROOT, "step 10/25  loss %.4f  lr 1.80e-05  41,210 tok/s  mem 10,244 MB  eta 30s", smoothed(1, 10)),
                String.format(Locale.ROOT, "step 20/25  loss %.4f  lr 1.80e-05  41,210 tok/s  mem 10,244 MB  eta 10s", smoothed(1, 20)),
                String.format(Locale.ROOT, "step 25/25  loss %.4f  lr 1.80e-05  41,210 tok/s  mem 10,244 MB  eta 0s", smoothed(1, 25))),
                lines());
    }

    @Test
    void aResumedRunKeepsTheCadenceAndCountsItsEtaAndLossFromItsOwnSteps() {
        try (Progress p = new Progress(out, false, 400, 117, 10, clock::get)) {
            for (long step = 118; step <= 120; step++) {
                clock.addAndGet(SECOND * 7 / 10);
                p.update(MetricsRecord.builder(step).put("loss", loss(step)).put("grad_norm", 1.0).put("lr", 1.8e-5)
                        .put("tokens", 100).put("tokens_per_s", 1234567.0).put("mem_mb", 999.5).build());
            }
            p.message("eval step 120: loss 2.2000");
        }
        // 3 steps in 2.1 s: 0.7 s a step, 280 steps left = 196 s
        assertEquals(List.of(
                String.format(Locale.ROOT, "step 120/400  loss %.4f  lr 1.80e-05  1,234,567 tok/s  mem 1,000 MB  eta 3m16s", smoothed(118, 120)),
                "eval step 120: loss 2.2000"), lines());
    }

    @Test
    void padsTheStepToTheTotalsWidth() {
        try (Progress p = new Progress(out, false, 400, 0, 5, clock::get)) {
            clock.addAndGet(SECOND);
            p.update(5, 2.0, 2e-4, 10, 20);
        }
        assertEquals(List.of("step   5/400  loss 2.0000  lr 2.00e-04  10 tok/s  mem 20 MB  eta 1m19s"), lines());
    }

    @Test
    void durations() {
        assertEquals("?", Progress.duration(-1));
        assertEquals("0s", Progress.duration(0));
        assertEquals("59s", Progress.duration(59));
        assertEquals("1m00s", Progress.duration(60));
        assertEquals("3m12s", Progress.duration(192));
        assertEquals("1h05m", Progress.duration(3600 + 5 * 60 + 59));
        assertEquals("27h00m", Progress.duration(27 * 3600));
    }

    @Test
    void theBarPrintsMessagesOnLinesOfTheirOwn() {
        try (Progress p = new Progress(out, true, 20, 0, 10, System::nanoTime)) {
            for (long step = 1; step <= 10; step++) p.update(step, 1.0, 1.8e-5, 100, 200);
            p.message("saved checkpoint-10");
            for (long step = 11; step <= 20; step++) p.update(step, 1.0, 1.8e-5, 100, 200);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        // the message is preceded by a carriage return (the bar's line blanked) and ends its own line
        assertTrue(text.matches("(?s).*\r *\rsaved checkpoint-10\r?\n.*"), text);
        assertTrue(text.contains("20/20"), text);
        assertTrue(text.contains("loss 1.0000"), text);
        assertTrue(!text.contains("step 10/20"), "no plain lines on a terminal: " + text);
    }
}
