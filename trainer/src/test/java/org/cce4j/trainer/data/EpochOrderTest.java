package org.cce4j.trainer.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The splitmix64 draws and the shuffle, bit for bit as the PyTorch reference computes them. The
 * expected values were computed independently with these lines of Python 3 (ints masked to 64 bits),
 * not with this code, and are written here as signed longs:
 * <pre>
 * M = 0xFFFFFFFFFFFFFFFF
 * def mix(z):
 *     z &amp;= M
 *     z = ((z ^ (z &gt;&gt; 30)) * 0xBF58476D1CE4E5B9) &amp; M
 *     z = ((z ^ (z &gt;&gt; 27)) * 0x94D049BB133111EB) &amp; M
 *     return z ^ (z &gt;&gt; 31)
 * def order(n, s, e):
 *     state = mix(s) ^ mix(e + 1)
 *     o = list(range(n))
 *     for i in range(n - 1, 0, -1):
 *         state = (state + 0x9E3779B97F4A7C15) &amp; M
 *         j = mix(state) % (i + 1)
 *         o[i], o[j] = o[j], o[i]
 *     return o
 * </pre>
 */
class EpochOrderTest {

    @Test
    void generatorDrawsWhatPythonDraws() {
        // (seed, epoch) → its first three draws; seed -1 is 2^64 - 1 read unsigned
        assertDraws(0, 0, -4616330145664149646L, 6869446166584666695L, 8084911050856847527L);
        assertDraws(42, 3, -7886501669406105081L, 4850022388715300145L, -640890499333126301L);
        assertDraws(-1, 0, 6366115181607701404L, 849969928429367488L, -1031469224402697220L);
    }

    private static void assertDraws(long seed, long epoch, long... expected) {
        SplitMix64 g = new SplitMix64(seed, epoch);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], g.next(), "draw " + i + " of seed " + seed + ", epoch " + epoch);
    }

    @Test
    void shuffledOrdersAreThoseOfTheReference() {
        assertArrayEquals(new int[] {0}, EpochOrder.of(1, true, 0, 0));
        assertArrayEquals(new int[] {1, 0}, EpochOrder.of(2, true, 0, 0));
        assertArrayEquals(new int[] {2, 1, 8, 4, 9, 6, 5, 7, 3, 0}, EpochOrder.of(10, true, 0, 0));
        assertArrayEquals(new int[] {6, 2, 1, 7, 5, 0, 3, 8, 9, 4}, EpochOrder.of(10, true, 0, 1));
        assertArrayEquals(new int[] {5, 3, 1, 0, 7, 4, 6, 8, 2, 9}, EpochOrder.of(10, true, 42, 0));
        assertArrayEquals(new int[] {4, 2, 3, 6, 5, 0, 7, 1, 9, 8}, EpochOrder.of(10, true, 42, 1));
        assertArrayEquals(new int[] {1, 2, 6, 7, 9, 4, 0, 8, 3, 5}, EpochOrder.of(10, true, 42, 3));
        assertArrayEquals(new int[] {0, 2, 11, 8, 15, 1, 5, 4, 9, 16, 12, 14, 3, 10, 7, 6, 13}, EpochOrder.of(17, true, 1234567, 2));
        assertArrayEquals(new int[] {1, 2, 3, 0, 4}, EpochOrder.of(5, true, -1, 0));
    }

    @Test
    void aLongerShuffleAgreesEverywhere() {
        // order(1000, 7, 0): its first ten entries, and sum(i * order[i]) as a check of the rest
        int[] o = EpochOrder.of(1000, true, 7, 0);
        assertArrayEquals(new int[] {57, 330, 872, 717, 160, 627, 866, 568, 328, 466}, java.util.Arrays.copyOf(o, 10));
        long weighted = 0;
        for (int i = 0; i < o.length; i++) weighted += (long) i * o[i];
        assertEquals(247558550L, weighted);
    }

    @Test
    void withoutShuffleTheOrderIsTheFilesWhateverTheSeed() {
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, EpochOrder.of(5, false, 42, 3));
        assertArrayEquals(new int[0], EpochOrder.of(0, true, 1, 0));
    }
}
