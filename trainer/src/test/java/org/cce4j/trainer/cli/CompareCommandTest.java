package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.trainer.train.TinyRunAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compare command end to end on the CPU: --probe-memory measures each variant's loss memory at the
 * step's shapes, --reference draws
 * another trainer's run beside the variants (here a copy of the baseline's own run, so its difference to
 * the baseline is exactly 0), --report-only rewrites the report without training, and bad references
 * are one-line errors.
 */
class CompareCommandTest {
    @TempDir
    Path dir;

    @Test
    void probesMemoryDrawsReferencesAndRewritesTheReport() throws Exception {
        Path cfg = TinyRunAccess.setUp(dir, "");
        Path out = dir.resolve("cmp");
        CliRun r = CliRun.of("compare", "--config", cfg.toString(), "--impls", "cce,baseline", "--seeds", "0", "--output", out.toString(),
                "--set", "save.every_steps=0", "--probe-memory");
        assertEquals(0, r.status(), r.err());
        ObjectMapper json = new ObjectMapper();
        JsonNode base = json.readTree(out.resolve("memory-baseline.json").toFile());
        JsonNode cce = json.readTree(out.resolve("memory-cce.json").toFile());
        int n = 2 * 2048;  // micro_batch_size × the default seq_len
        assertEquals(n, base.get("loss_tokens").asInt());
        // the CPU measures heap-pool peaks, which at this size (the logits are 1 MB) move with the collector's timing:
        // only that each was measured at the step's shape is checked here (cce-core's benchmark tests check the sizes)
        assertTrue(base.get("loss_extra_mb").asDouble() > 0, base.toString());
        assertTrue(cce.get("loss_extra_mb").asDouble() > 0 && cce.get("loss_tokens").asInt() == n, cce.toString());
        assertTrue(!base.has("largest_micro_batch"), "the CPU probes the loss only");

        Path copy = dir.resolve("copy");
        Files.createDirectories(copy);
        Files.copy(out.resolve("baseline-seed0/metrics.jsonl"), copy.resolve("metrics.jsonl"));
        Files.delete(out.resolve("summary.json"));
        CliRun again = CliRun.of("compare", "--config", cfg.toString(), "--impls", "cce,baseline", "--seeds", "0", "--output", out.toString(),
                "--report-only", "--reference", "copy=" + copy);
        assertEquals(0, again.status(), again.err());
        assertTrue(!again.err().contains("training"), again.err());
        JsonNode summary = json.readTree(out.resolve("summary.json").toFile());
        assertEquals(0.0, summary.get("copy").get("mean_abs_loss_diff").asDouble(), 0.0);
        assertEquals(summary.get("baseline").get("final_train_loss").get("mean").asDouble(), summary.get("copy").get("final_train_loss").asDouble(), 0.0);
        assertEquals(base.get("loss_extra_mb").asDouble(), summary.get("baseline").get("memory").get("loss_extra_mb").asDouble(), 0.0);
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("| copy (reference) |"), report);

        CliRun bad = CliRun.of("compare", "--config", cfg.toString(), "--output", out.toString(), "--report-only", "--reference", "x=" + dir.resolve("none"));
        assertEquals(2, bad.status());
        assertTrue(bad.errorLine().contains("--reference"), bad.err());
        CliRun missing = CliRun.of("compare", "--config", cfg.toString(), "--impls", "cce-exact", "--output", out.toString(), "--report-only");
        assertEquals(2, missing.status());
        assertTrue(missing.errorLine().contains("--report-only"), missing.err());
    }
}
