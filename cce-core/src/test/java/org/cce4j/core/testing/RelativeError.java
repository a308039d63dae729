package org.cce4j.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The comparison every numeric test of the project uses: ‖actual − expected‖₂ / ‖expected‖₂ ≤ tol,
 * every element finite, exact zeros where the reference is all zero. (Shared with the other modules
 * through cce-core's test jar.)
 */
public final class RelativeError {
    private RelativeError() {}

    public static double of(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, "sizes differ");
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            num += (expected[i] - actual[i]) * (expected[i] - actual[i]);
            den += expected[i] * expected[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    public static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": size");
        for (int i = 0; i < actual.length; i++) {
            assertTrue(Double.isFinite(actual[i]), what + ": element " + i + " is " + actual[i]);
        }
        double err = of(expected, actual);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
    }
}
