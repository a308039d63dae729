package org.cce4j.trainer.data;

/**
 * The order in which an epoch visits the rows: file order, or the seeded Fisher–Yates shuffle of
 * the train semantics shared with the PyTorch reference ({@code for i = n-1 down to 1: j = next() mod (i+1); swap order[i], order[j]},
 * with {@link SplitMix64}). Each epoch has its own order, from (seed, epoch) alone, so that resuming at
 * any epoch needs no generator state.
 */
public final class EpochOrder {
    private EpochOrder() {}

    /** The row indices of epoch {@code epoch} (0-based), a permutation of 0..n-1. */
    public static int[] of(int n, boolean shuffle, long seed, long epoch) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (!shuffle) return order;
        SplitMix64 random = new SplitMix64(seed, epoch);
        for (int i = n - 1; i >= 1; i--) {
            int j = random.nextBelow(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
