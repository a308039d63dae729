package org.cce4j.trainer.distributed;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * ZeRO-1's split of the optimizer state: each trainable parameter is owned by one rank, which alone
 * keeps its AdamW moments (and f32 master copy) and updates it. Whole parameters, balanced by size:
 * the largest first, each to the rank with the fewest elements so far (ties to the lower rank) — the
 * greedy rule whose largest load is at most 4/3 of the best possible, and within one parameter of the
 * mean when parameters are many and small next to the total, as a transformer's are (except the
 * embedding, which one rank then owns alone). The plan is a function of the sizes and the world size
 * only, so every rank computes the same one, and a checkpoint, written in the single-GPU layout, can
 * be resumed with another.
 *
 * @param owner per parameter (the trainer's trainable order), its rank
 * @param load  per rank, the elements it owns
 */
public record OwnerPlan(int[] owner, long[] load) {
    public static OwnerPlan of(long[] numels, int ranks) {
        if (ranks < 1) throw new IllegalArgumentException("ranks " + ranks);
        int[] owner = new int[numels.length];
        long[] load = new long[ranks];
        Integer[] order = IntStream.range(0, numels.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> -numels[i]).thenComparingInt(i -> i));
        for (int i : order) {
            int best = 0;
            for (int r = 1; r < ranks; r++) if (load[r] < load[best]) best = r;
            owner[i] = best;
            load[best] += numels[i];
        }
        return new OwnerPlan(owner, load);
    }

    /** Whether {@code rank} owns parameter {@code i}. */
    public boolean owns(int rank, int i) {
        return owner[i] == rank;
    }
}
