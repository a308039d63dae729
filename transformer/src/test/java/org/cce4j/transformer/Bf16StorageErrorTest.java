package org.cce4j.transformer;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Why the bf16 tests cannot hold every gradient to 2e-2 flat (docs/transformer.md), measured on the
 * CPU with {@link Bf16StorageBackend} on the checkpoint with transformers' default initialization
 * where bf16 lands farthest (gemma3): bf16 storage alone — f32 arithmetic, only the stored weights
 * and activations rounded — is above 2e-2, and no single kind of stored tensor is the cause: each
 * forward operation's outputs rounded alone, or the weights alone, stay well below it, and keeping
 * the residual stream in f32 (every other tensor rounded) does not bring it under 2e-2.
 */
class Bf16StorageErrorTest {
    private static final String FIXTURE = "default-init/gemma3";
    private static final double ISSUE_TOL = 2e-2;
    private static final Set<String> FORWARD_OPS = Set.of("linear", "rmsNorm", "attention", "gated", "embedding", "rope", "add", "softcap");

    private static double worst(Bf16StorageBackend b) throws Exception {
        Map<String, Double> e = HfReferenceTest.errors(FIXTURE, b, false);
        return e.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
    }

    @Test
    void bf16StorageAloneExceedsTheFlatToleranceWithNoSingleCause() throws Exception {
        double all = worst(new Bf16StorageBackend());
        assertTrue(all > ISSUE_TOL, "bf16 storage alone: worst " + all);

        double weightsOnly = worst(new Bf16StorageBackend(true, false, false));
        assertTrue(weightsOnly < ISSUE_TOL, "weights alone: worst " + weightsOnly);
        for (String op : FORWARD_OPS) {
            Bf16StorageBackend b = new Bf16StorageBackend(false, true, false);
            b.forwardOps = Set.of(op);
            double w = worst(b);
            assertTrue(w < ISSUE_TOL, op + " outputs alone: worst " + w);
        }

        Bf16StorageBackend f32Residual = new Bf16StorageBackend(true, true, true);
        f32Residual.forwardOps = FORWARD_OPS.stream().filter(op -> !op.equals("add")).collect(java.util.stream.Collectors.toSet());
        double residual = worst(f32Residual);
        assertTrue(residual > ISSUE_TOL, "residual stream in f32, the rest rounded: worst " + residual);
    }
}
