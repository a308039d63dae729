package org.cce4j.trainer.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.train.TinyRunAccess;
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
 * A CPU-sized comparison (a tiny Llama, 6 steps, 2 seeds, three variants): every file of the report is
 * written, runs are not redone, and in f32 the CCE and baseline losses agree within 1e-5 at every step,
 * as do the evaluations' loss, perplexity and token accuracy (computed inside each loss, no logits)
 * (CCE's filter threshold, ε/32 of f32, is below what f32 resolves there).
 */
class CompareTest {
    @TempDir
    Path dir;

    @Test
    void aComparisonWritesItsReportAndCceTracksTheBaseline() throws Exception {
        Path cfg = TinyRunAccess.setUp(dir, "");
        Path out = dir.resolve("cmp");
        List<Variant> variants = List.of(Variant.of("cce"), Variant.of("cce-exact"), Variant.of("baseline"));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        var options = org.cce4j.trainer.train.Trainer.Options.defaults().withErr(new PrintStream(new ByteArrayOutputStream(), true), false);
        List<Comparison.Run> runs = Comparison.run(cfg, List.of("save.every_steps=0"), out, variants, List.of(0L, 1L), options, new PrintStream(log, true));
        assertEquals(6, runs.size());
        JsonNode summary = ComparisonReport.write(out, runs, "test");
        for (String f : List.of("summary.json", "report.md", "loss.png", "eval.png", "diff.png")) assertTrue(Files.isRegularFile(out.resolve(f)), f);
        JsonNode written = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(summary, written);
        for (String v : List.of("cce", "cce-exact", "baseline")) {
            assertEquals(2, written.get(v).get("seeds").asInt());
            assertTrue(written.get(v).get("final_eval_loss").get("mean").isNumber(), v);
            assertEquals(Math.exp(written.get(v).get("final_eval_loss").get("by_seed").get(0).asDouble()),
                    written.get(v).get("final_eval_ppl").get("by_seed").get(0).asDouble(), 1e-12);
        }
        for (long seed : List.of(0L, 1L)) {
            List<MetricsRecord> c = MetricsLog.read(out.resolve("cce-seed" + seed).resolve(RunFolder.METRICS));
            List<MetricsRecord> b = MetricsLog.read(out.resolve("baseline-seed" + seed).resolve(RunFolder.METRICS));
            assertEquals(b.size(), c.size());
            for (int i = 0; i < b.size(); i++) {
                for (String k : b.get(i).isEval() ? List.of("eval_loss", "eval_ppl", "eval_accuracy") : List.of("loss")) {
                    double rel = Math.abs(c.get(i).number(k) - b.get(i).number(k)) / Math.max(Math.abs(b.get(i).number(k)), 1e-30);
                    assertTrue(rel <= 1e-5, "seed " + seed + " record " + i + ": " + k + " " + c.get(i).number(k) + " vs " + b.get(i).number(k));
                }
            }
        }
        assertTrue(written.get("cce").get("mean_abs_loss_diff_to_baseline").asDouble() < 1e-4);
        JsonNode verdict = written.get("cce").get("final_eval_ppl_vs_baseline");
        double b0 = written.get("baseline").get("final_eval_ppl").get("by_seed").get(0).asDouble();
        double b1 = written.get("baseline").get("final_eval_ppl").get("by_seed").get(1).asDouble();
        assertEquals(Math.min(b0, b1), verdict.get("baseline_min").asDouble(), 0.0);
        assertEquals(written.get("cce").get("final_eval_ppl").get("mean").asDouble() - written.get("baseline").get("final_eval_ppl").get("mean").asDouble(),
                verdict.get("delta").asDouble(), 1e-12);
        assertTrue(verdict.get("within_baseline_seed_range").asBoolean(), verdict.toString());  // cce tracks the baseline within 1e-5
        // seeds differ: another shuffle, so other losses
        double s0 = written.get("baseline").get("final_eval_loss").get("by_seed").get(0).asDouble();
        double s1 = written.get("baseline").get("final_eval_loss").get("by_seed").get(1).asDouble();
        assertTrue(s0 != s1, "the two seeds trained differently");

        ByteArrayOutputStream again = new ByteArrayOutputStream();
        Comparison.run(cfg, List.of("save.every_steps=0"), out, variants, List.of(0L, 1L), options, new PrintStream(again, true));
        assertEquals(6, again.toString().lines().filter(l -> l.contains("is finished")).count(), again.toString());
    }
}
