package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.InMemoryTokenRows;
import org.cce4j.trainer.data.TokenRows;

import java.util.SplittableRandom;

/** Rows of given lengths for the packing tests: row i's ids are 100·i + t, its labels the ids. */
final class Lengths {
    private Lengths() {}

    static TokenRows of(int... lengths) {
        InMemoryTokenRows.Builder b = new InMemoryTokenRows.Builder();
        for (int i = 0; i < lengths.length; i++) {
            int[] ids = new int[lengths[i]];
            for (int t = 0; t < ids.length; t++) ids[t] = 100 * i + t;
            b.add(ids, null);
        }
        return b.build();
    }

    /** {@code n} rows of 1..max tokens, seeded. */
    static TokenRows random(int n, int max, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) lengths[i] = 1 + r.nextInt(max);
        return of(lengths);
    }
}
