package org.cce4j.trainer.metrics;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The EMA against its closed form s_t = d^(t-1) x_1 + sum_{k=2..t} (1-d) d^(t-k) x_k. */
class EmaTest {
    @Test
    void startsFromTheFirstValue() {
        double[] s = Ema.smooth(new double[] {1, 2, 3}, 0.9);
        assertEquals(1.0, s[0]);
        assertEquals(1.1, s[1], 1e-15);
        assertEquals(1.29, s[2], 1e-15);
    }

    @Test
    void matchesTheClosedForm() {
        Random random = new Random(7);
        double[] xs = new double[200];
        for (int i = 0; i < xs.length; i++) xs[i] = 2 + random.nextGaussian();
        double d = 0.9;
        double[] s = Ema.smooth(xs, d);
        for (int t = 1; t <= xs.length; t++) {
            double expected = Math.pow(d, t - 1) * xs[0];
            for (int k = 2; k <= t; k++) expected += (1 - d) * Math.pow(d, t - k) * xs[k - 1];
            assertEquals(expected, s[t - 1], 1e-12, "t=" + t);
        }
    }

    @Test
    void aNanStaysAndBadDecaysAreRefused() {
        Ema ema = new Ema();
        assertTrue(Double.isNaN(ema.value()));
        ema.add(1);
        ema.add(Double.NaN);
        assertTrue(Double.isNaN(ema.add(1)));
        assertThrows(IllegalArgumentException.class, () -> new Ema(1.0));
        assertThrows(IllegalArgumentException.class, () -> new Ema(Double.NaN));
    }
}
