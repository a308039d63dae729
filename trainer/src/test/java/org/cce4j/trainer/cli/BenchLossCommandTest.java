package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench-loss prints one well-formed JSON line per implementation, and all of them agree on the loss. */
class BenchLossCommandTest {
    @Test
    void oneJsonLinePerImplementationWithTheSameLoss() throws Exception {
        CliRun run = CliRun.of("bench-loss", "--n", "64", "--d", "32", "--v", "1000", "--impl", "cce,cce-exact,baseline",
                "--iters", "2", "--json", "--device", "cpu");
        assertEquals(0, run.status(), run.err());
        String[] lines = run.out().strip().split("\n");
        assertEquals(3, lines.length, run.out());
        ObjectMapper json = new ObjectMapper();
        double firstLoss = Double.NaN;
        for (String line : lines) {
            JsonNode r = json.readTree(line);
            assertTrue(r.get("forward_ms").asDouble() > 0 && r.get("forward_backward_ms").asDouble() >= r.get("forward_ms").asDouble() * 0.5);
            assertTrue(r.has("extra_memory_mb"));
            if (Double.isNaN(firstLoss)) firstLoss = r.get("loss").asDouble();
            assertEquals(firstLoss, r.get("loss").asDouble(), 1e-4 * Math.abs(firstLoss));
        }
    }

    @Test
    void refusesNonPositiveSizes() {
        CliRun run = CliRun.of("bench-loss", "--n", "0", "--d", "32", "--v", "10", "--device", "cpu");
        assertEquals(2, run.status());
        assertTrue(run.errorLine().contains("must be positive"));
    }
}
