package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.List;

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
            assertEquals("paper", r.get("inputs").get("kind").asText());
            if (Double.isNaN(firstLoss)) firstLoss = r.get("loss").asDouble();
            assertEquals(firstLoss, r.get("loss").asDouble(), 1e-4 * Math.abs(firstLoss));
        }
    }

    /** --accuracy and the filter switches reach the measurement (its JSON says so) and leave the loss as it was. */
    @Test
    void accuracyAndFilterSwitchesAreMeasuredAndNamed() throws Exception {
        ObjectMapper json = new ObjectMapper();
        CliRun plain = CliRun.of("bench-loss", "--n", "64", "--d", "32", "--v", "1000", "--iters", "2", "--json", "--device", "cpu");
        CliRun variant = CliRun.of("bench-loss", "--n", "64", "--d", "32", "--v", "1000", "--iters", "2", "--json", "--device", "cpu",
                "--accuracy", "--no-filter-c-grad");
        assertEquals(0, plain.status(), plain.err());
        assertEquals(0, variant.status(), variant.err());
        JsonNode p = json.readTree(plain.out().strip()), r = json.readTree(variant.out().strip());
        assertEquals(false, p.get("accuracy").asBoolean());
        assertEquals(true, p.get("filter_c_grad").asBoolean());
        assertEquals(true, r.get("accuracy").asBoolean());
        assertEquals(true, r.get("filter_e_grad").asBoolean());
        assertEquals(false, r.get("filter_c_grad").asBoolean());
        assertEquals(p.get("loss").asDouble(), r.get("loss").asDouble(), 0.0, "the forward's loss does not depend on these options");
        CliRun text = CliRun.of("bench-loss", "--n", "16", "--d", "8", "--v", "100", "--iters", "1", "--device", "cpu", "--no-filter-e-grad");
        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().contains(" no-filter-e-grad: forward "), text.out());
        CliRun badCap = CliRun.of("bench-loss", "--n", "16", "--d", "8", "--v", "100", "--device", "cpu", "--softcap", "-1");
        assertEquals(2, badCap.status(), badCap.err());
        assertEquals("bench-loss: error: --softcap must be a finite number >= 0, got -1.0", badCap.errorLine());
        CliRun eps = CliRun.of("bench-loss", "--n", "16", "--d", "8", "--v", "100", "--iters", "1", "--device", "cpu", "--filter-eps", "0");
        assertEquals(0, eps.status(), eps.err());
        assertTrue(eps.out().contains(" filter-eps 0.0: forward "), eps.out());
        // uniform inputs: every p ≈ 1/500 = 2e-3, below --filter-eps 0.01, so cce drops every softmax term
        // and keeps the one-hot part alone, while cce-exact is its own reference
        CliRun err = CliRun.of("bench-loss", "--n", "64", "--d", "16", "--v", "500", "--iters", "1", "--device", "cpu", "--json",
                "--inputs", "uniform", "--impl", "cce-exact,cce", "--filter-eps", "0.01", "--grad-error");
        assertEquals(0, err.status(), err.err());
        String[] lines = err.out().strip().split("\n");
        JsonNode exactErr = json.readTree(lines[0]).get("grad_error_vs_exact"), cceErr = json.readTree(lines[1]).get("grad_error_vs_exact");
        assertEquals(0.0, exactErr.get("dE").asDouble(), 1e-7, "cce-exact against itself");
        assertEquals(0.0, exactErr.get("dC").asDouble(), 1e-7, "cce-exact against itself");
        assertTrue(cceErr.get("dC").asDouble() > 1e-2, "the filter's dropped terms show in dC: " + cceErr);
        CliRun badEps = CliRun.of("bench-loss", "--n", "16", "--d", "8", "--v", "100", "--device", "cpu", "--filter-eps", "-1");
        assertEquals(2, badEps.status(), badEps.err());
        assertEquals("bench-loss: error: --filter-eps must be a number >= 0, got -1.0", badEps.errorLine());
    }

    @Test
    void refusesNonPositiveSizesNamingTheOption() {
        String[][] cases = {{"--n", "0"}, {"--d", "-3"}, {"--v", "0"}, {"--iters", "0"}};
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("bench-loss", "--n", "64", "--d", "32", "--v", "10", "--device", "cpu"));
            args.addAll(List.of(c));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, run.status(), run.err());
            assertEquals("bench-loss: error: invalid value for " + c[0] + ": must be positive, got " + c[1] + " (see 'cce4j bench-loss --help')",
                    run.errorLine());
        }
        CliRun big = CliRun.of("bench-loss", "--n", "70000", "--d", "40000", "--v", "10", "--device", "cpu");
        assertEquals(2, big.status(), big.err());
        assertTrue(big.errorLine().contains("--n × --d = 2,800,000,000 elements"), big.err());
    }

    @Test
    void cudaWithoutAGpuIsOneLineLikeTheOtherCommands() {
        CliRun run = CliRun.of("bench-loss", "--n", "8", "--d", "8", "--v", "8", "--iters", "1", "--device", "cuda");
        Assumptions.assumeTrue(run.status() != 0, "a CUDA device is usable here");
        assertEquals(2, run.status(), run.err());
        assertTrue(run.errorLine().startsWith("bench-loss: error: device cuda:0 is not usable: "), run.err());
        assertTrue(run.errorLine().endsWith("(use --device cpu)"), run.err());
    }
}
