package org.cce4j.transformer.generate;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sampling on a constructed distribution: the warped probabilities against their closed forms
 * (transformers' temperature, top-k and top-p semantics, computed here in float64 from the same f32
 * logits), and the frequencies of 200 000 seeded draws within 5 standard deviations of them.
 */
class SamplerTest {
    /** p = (0.05, 0.5, 0.1, 0.2, 0.15): ascending 0.05, 0.1, 0.15, 0.2, 0.5, cumulative 0.05, 0.15, 0.30, 0.50, 1. */
    static final double[] P = {0.05, 0.5, 0.1, 0.2, 0.15};
    static final float[] LOGITS = logits(P);

    static float[] logits(double[] p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) l[i] = (float) Math.log(p[i]);
        return l;
    }

    /** softmax(l / t) over the tokens kept, in float64, with the f32 division transformers does. */
    static double[] closedForm(float[] l, double t, boolean... keep) {
        double[] e = new double[l.length];
        double sum = 0;
        for (int i = 0; i < l.length; i++) {
            e[i] = keep.length == 0 || keep[i] ? Math.exp(l[i] / (float) t) : 0;
            sum += e[i];
        }
        for (int i = 0; i < e.length; i++) e[i] /= sum;
        return e;
    }

    static double[] distribution(double t, int k, double p) {
        return new Sampler(new SamplingOptions(t, k, p, 0)).distribution(LOGITS);
    }

    @Test
    void temperatureDividesTheLogits() {
        assertArrayEquals(closedForm(LOGITS, 1), distribution(1, 0, 1), 1e-15);
        assertArrayEquals(closedForm(LOGITS, 2), distribution(2, 0, 1), 1e-15);
        assertArrayEquals(closedForm(LOGITS, 0.5), distribution(0.5, 0, 1), 1e-15);
        for (int i = 0; i < P.length; i++) assertEquals(P[i], distribution(1, 0, 1)[i], 1e-7);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // 1 − 0.75 = 0.25: the ascending cumulative 0.05, 0.15 are ≤ 0.25 (dropped), 0.30 is not (kept)
        assertArrayEquals(closedForm(LOGITS, 1, false, true, false, true, true), distribution(1, 0, 0.75), 1e-15);
        // 1 − 0.45 = 0.55: only 0.5's cumulative (1.0) is above it
        assertArrayEquals(closedForm(LOGITS, 1, false, true, false, false, false), distribution(1, 0, 0.45), 1e-15);
        // the most likely token is kept even when p is below its probability
        assertArrayEquals(new double[] {0, 1, 0, 0, 0}, distribution(1, 0, 0.01), 0);
        // after temperature 2 the probabilities are ∝ √p: 0.1074, 0.3397, 0.1519, 0.2149, 0.1861, whose
        // ascending cumulative 0.1074, 0.2593, 0.4454, 0.6603 is ≤ 1 − 0.5 for tokens 0, 2 and 4
        double[] t2 = closedForm(LOGITS, 2);
        assertTrue(t2[0] + t2[2] + t2[4] <= 0.5 && t2[0] + t2[2] + t2[4] + t2[3] > 0.5, "the closed form of the case below");
        assertArrayEquals(closedForm(LOGITS, 2, false, true, false, true, false), distribution(2, 0, 0.5), 1e-15);
    }

    @Test
    void topKKeepsTheKLargestAndComesBeforeTopP() {
        assertArrayEquals(closedForm(LOGITS, 1, false, true, false, true, false), distribution(1, 2, 1), 1e-15);
        assertArrayEquals(closedForm(LOGITS, 1, false, true, false, true, true), distribution(1, 3, 1), 1e-15);
        assertArrayEquals(closedForm(LOGITS, 1), distribution(1, 5, 1), 1e-15);
        // top-k 2 leaves 0.5/0.7 and 0.2/0.7 = 0.286 ≤ 1 − 0.6: top-p then keeps only the first
        assertArrayEquals(new double[] {0, 1, 0, 0, 0}, distribution(1, 2, 0.6), 0);
        // ties with the k-th largest are kept, as transformers' `scores < kth` keeps them
        float[] tied = {1f, 3f, 2f, 2f, 0f};
        double[] d = new Sampler(new SamplingOptions(1, 2, 1, 0)).distribution(tied);
        assertArrayEquals(closedForm(tied, 1, false, true, true, true, false), d, 1e-15);
    }

    @Test
    void drawsFollowTheWarpedDistribution() {
        int n = 200_000;
        for (SamplingOptions o : new SamplingOptions[] {new SamplingOptions(1, 0, 1, 1), new SamplingOptions(0.7, 0, 0.75, 2),
                new SamplingOptions(2, 4, 1, 3)}) {
            Sampler s = new Sampler(o);
            double[] expected = s.distribution(LOGITS);
            int[] counts = new int[P.length];
            for (int i = 0; i < n; i++) counts[s.next(LOGITS)]++;
            for (int i = 0; i < P.length; i++) {
                if (expected[i] == 0) {
                    assertEquals(0, counts[i], o + ": token " + i + " is outside the kept set");
                    continue;
                }
                double sigma = Math.sqrt(n * expected[i] * (1 - expected[i]));
                assertTrue(Math.abs(counts[i] - n * expected[i]) < 5 * sigma,
                        o + ": token " + i + " drawn " + counts[i] + " times, expected " + n * expected[i] + " ± " + sigma);
            }
        }
    }

    @Test
    void greedyIsTheFirstLargestLogit() {
        Sampler g = new Sampler(SamplingOptions.greedy());
        assertEquals(1, g.next(LOGITS));
        assertEquals(2, g.next(new float[] {0f, 1f, 3f, 3f}));
        assertArrayEquals(new double[] {0, 0, 1, 0}, g.distribution(new float[] {0f, 1f, 3f, 3f}), 0);
        assertThrows(IllegalStateException.class, () -> g.next(new float[] {0f, Float.NaN}));
        assertThrows(IllegalStateException.class, () -> new Sampler(new SamplingOptions(1, 0, 1, 0)).next(new float[] {0f, Float.NaN}));
    }

    @Test
    void aSeedGivesTheSameDrawsAndAnotherSeedOthers() {
        float[] flat = new float[50];
        int[] a = draws(7, flat), b = draws(7, flat), c = draws(8, flat);
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    private static int[] draws(long seed, float[] logits) {
        Sampler s = new Sampler(new SamplingOptions(1, 0, 1, seed));
        int[] out = new int[40];
        for (int i = 0; i < out.length; i++) out[i] = s.next(logits);
        return out;
    }

    /** Our SplitMix64 is the algorithm the JDK's SplittableRandom implements (same increment, same mixer, same doubles). */
    @Test
    void splitMix64IsTheJdksSplittableRandomSequence() {
        for (long seed : new long[] {0, 1, -5, 0x123456789abcdefL}) {
            SplitMix64 ours = new SplitMix64(seed);
            SplittableRandom jdk = new SplittableRandom(seed);
            for (int i = 0; i < 100; i++) assertEquals(jdk.nextLong(), ours.nextLong());
            for (int i = 0; i < 100; i++) assertEquals(jdk.nextDouble(), ours.nextDouble());
        }
        assertEquals(0xE220A8397B1DCDAFL, new SplitMix64(0).nextLong(), "SplitMix64's published first output for seed 0");
    }

    @Test
    void badOptionsAreUserErrors() {
        assertTrue(assertThrows(InvalidInputException.class, () -> new SamplingOptions(-1, 0, 1, 0)).getMessage().contains("temperature"));
        assertTrue(assertThrows(InvalidInputException.class, () -> new SamplingOptions(1, -1, 1, 0)).getMessage().contains("top-k"));
        assertTrue(assertThrows(InvalidInputException.class, () -> new SamplingOptions(1, 0, 0, 0)).getMessage().contains("top-p"));
        assertTrue(assertThrows(InvalidInputException.class, () -> new SamplingOptions(1, 0, 1.5, 0)).getMessage().contains("top-p"));
        assertThrows(InvalidInputException.class, () -> new SamplingOptions(Double.NaN, 0, 1, 0));
    }
}
