package org.cce4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU-sized comparison example on real text (Moby Dick, .data/demo, fetched by the build; skipped
 * with a message when absent): every file of the report is written, the training loss falls, and in
 * f32 cce and cce-full-c follow the materialized baseline within 1e-5 (relative) at every step and
 * evaluation of both seeds — the filter threshold (2⁻²⁸) is far below what the steps resolve.
 */
class CompareOnTheCpuTest {
    static final Path DATA = Path.of("..", ".data", "demo").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void cceAndFullCTrackTheBaselineOnRealText() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(DATA.resolve("moby-dick")) && Files.isDirectory(DATA.resolve("debian-faq")),
                "no demo data in " + DATA + " (offline build): tools/fetch-demo-data.sh fetches it");
        JsonNode summary = CompareOnTheCpu.run(DATA, dir, 12, 2, new PrintStream(new ByteArrayOutputStream(), true));
        for (String f : List.of("summary.json", "report.md", "loss.png", "eval.png", "diff.png")) assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        for (long seed : List.of(0L, 1L)) {
            List<MetricsRecord> base = MetricsLog.read(dir.resolve("baseline-seed" + seed).resolve("metrics.jsonl"));
            List<MetricsRecord> steps = base.stream().filter(m -> !m.isEval()).toList();
            assertTrue(steps.get(steps.size() - 1).number("loss") < steps.get(0).number("loss") - 0.5, "the loss falls: " + steps);
            for (String v : List.of("cce", "cce-full-c")) {
                List<MetricsRecord> other = MetricsLog.read(dir.resolve(v + "-seed" + seed).resolve("metrics.jsonl"));
                assertEquals(base.size(), other.size(), v);
                for (int i = 0; i < base.size(); i++) {
                    String k = base.get(i).isEval() ? "eval_loss" : "loss";
                    double b = base.get(i).number(k), o = other.get(i).number(k);
                    assertTrue(Math.abs(o - b) <= 1e-5 * b, v + " seed " + seed + " record " + i + ": " + k + " " + o + " vs " + b);
                }
            }
        }
        assertTrue(summary.get("cce").get("final_eval_ppl_vs_baseline").get("within_baseline_seed_range").asBoolean(), summary.toString());
    }
}
