package org.cce4j.tokenizer.model;

/**
 * The merge table: (left id, right id) → (rank, merged id), an open-addressing hash table keyed by
 * the pair packed into one long, so that the merge loop does no boxing and no hashing of strings.
 *
 * <pre>
 *   key   = left << 32 | right        (EMPTY = -1: ids are never negative)
 *   slot  → keys[slot], ranks[slot], merged[slot]
 * </pre>
 */
final class PairMap {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final int[] ranks;
    private final int[] merged;
    private final int mask;

    PairMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[cap];
        java.util.Arrays.fill(keys, EMPTY);
        ranks = new int[cap];
        merged = new int[cap];
        mask = cap - 1;
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /** Adds or replaces a pair (a later merge of the same pair replaces the earlier, as in the Rust library). */
    void put(int a, int b, int rank, int mergedId) {
        long k = key(a, b);
        int i = hash(k) & mask;
        while (keys[i] != EMPTY && keys[i] != k) i = (i + 1) & mask;
        keys[i] = k;
        ranks[i] = rank;
        merged[i] = mergedId;
    }

    /** The slot of a pair, or -1. */
    int find(int a, int b) {
        long k = key(a, b);
        int i = hash(k) & mask;
        while (true) {
            long x = keys[i];
            if (x == k) return i;
            if (x == EMPTY) return -1;
            i = (i + 1) & mask;
        }
    }

    /** The rank of a pair, or Integer.MAX_VALUE when the pair does not merge. */
    int rank(int a, int b) {
        int s = find(a, b);
        return s < 0 ? Integer.MAX_VALUE : ranks[s];
    }

    int rankAt(int slot) {
        return ranks[slot];
    }

    int mergedAt(int slot) {
        return merged[slot];
    }
}
