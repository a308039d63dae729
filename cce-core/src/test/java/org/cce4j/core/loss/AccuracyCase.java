package org.cce4j.core.loss;

import org.cce4j.core.tensor.DType;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A loss problem built to test the accuracy output against the float64 reference. Random inputs
 * alone would not do: almost every argmax would miss its random target (a test that "always 0"
 * passes) and no two logits would tie. So:
 * <ul>
 *   <li>three pairs of classifier rows (and their biases) are made equal: exact ties, one pair in the
 *       same vocabulary block, one pair at the two ends of the vocabulary (other blocks, groups,
 *       splits), one in the middle;</li>
 *   <li>every fifth row of E is a copy of the first row of a pair, so that its largest logit is that
 *       tie; its target is the first of the pair (right: the first maximal index wins, as with
 *       torch.argmax) or the second (wrong), alternately;</li>
 *   <li>every third other row gets its argmax as target (right), the rest keep random ones.</li>
 * </ul>
 * Every counted row's top two distinct reference logits must lie more than 1e-4 apart, so that f32
 * rounding cannot legitimately move an argmax and the comparison can be exact.
 */
final class AccuracyCase {
    final LossCase lc;
    final NaiveCrossEntropy ref;
    final int[][] pairs;

    AccuracyCase(long seed, long[] leading, int v, int d, DType dtype, double ignoredFraction, boolean withBias,
                 boolean withWeights, CceOptions options) {
        lc = new LossCase(seed, leading, v, d, dtype, 9, ignoredFraction, withBias, withWeights, options.withAccuracy(true));
        pairs = new int[][] {{3, 4}, {1, v - 1}, {v / 2, v / 2 + 2}};
        for (int[] p : pairs) {
            lc.c[p[1]] = lc.c[p[0]].clone();
            if (lc.bias != null) lc.bias[p[1]] = lc.bias[p[0]];
        }
        for (int r = 1; r < lc.n; r += 5) lc.e[r] = lc.c[pairOf(r)[0]].clone();
        NaiveCrossEntropy untargeted = lc.reference(); // the argmax does not depend on the targets
        int shift = lc.options.shift();
        for (int r = 0; r < lc.n; r++) {
            int pos = r % lc.seqLen;
            if (pos + shift >= lc.seqLen || lc.targets[r + shift] == lc.options.ignoreIndex()) continue;
            if (r % 5 == 1) {
                int[] p = pairOf(r);
                assertEquals(p[0], untargeted.argmax[r], "row " + r + " copies classifier row " + p[0] + ": that tie is its maximum");
                lc.targets[r + shift] = (r / 5) % 2 == 0 ? p[0] : p[1];
            } else if (r % 3 == 0) {
                lc.targets[r + shift] = untargeted.argmax[r];
            }
        }
        ref = lc.reference();
        int counted = 0;
        for (int r = 0; r < lc.n; r++) {
            if (ref.targetOfRow[r] < 0) continue;
            counted++;
            assertTrue(ref.argmaxGap[r] > 1e-4, "row " + r + ": its two largest distinct logits are "
                    + ref.argmaxGap[r] + " apart, within f32 rounding: choose another seed");
        }
        assertTrue(ref.correctCount > 0 && ref.correctCount < counted, "a case needs right and wrong rows, got "
                + ref.correctCount + " of " + counted);
    }

    private int[] pairOf(int row) {
        return pairs[(row / 5) % pairs.length];
    }

    CceOptions options() {
        return lc.options;
    }

    int countedRows() {
        int k = 0;
        for (int t : ref.targetOfRow) if (t >= 0) k++;
        return k;
    }

    /** The accuracy outputs of a forward (the correct tensor already on the host) against the reference. */
    void assertMatches(long[] correct, long count, double accuracy, String what) {
        long[] expected = new long[lc.n];
        for (int r = 0; r < lc.n; r++) expected[r] = ref.correct[r];
        assertArrayEquals(expected, correct, "correct " + what);
        assertEquals(ref.correctCount, count, "correctCount " + what);
        assertEquals((double) ref.correctCount / countedRows(), accuracy, 0.0, "accuracy " + what);
    }
}
