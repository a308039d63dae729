package org.cce4j.core.dist;

/**
 * One rank's slice of the vocabulary in the vocabulary-parallel loss: classifier rows
 * [start, stop) of {@code vocab}. The shards of a group tile [0, vocab) in rank order.
 */
public record VocabShard(int start, int stop, int vocab) {
    public VocabShard {
        if (vocab < 1 || start < 0 || stop <= start || stop > vocab) {
            throw new IllegalArgumentException("a vocabulary shard must be a non-empty [start, stop) inside [0, " + vocab + "), got ["
                    + start + ", " + stop + ")");
        }
    }

    /**
     * The balanced split: rank r of n gets ⌊V/n⌋ rows, and the first V mod n ranks one more, so no shard
     * is empty while V ≥ n and shard sizes differ by at most one.
     */
    public static VocabShard balanced(int vocab, int rank, int size) {
        if (size < 1 || rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " of " + size);
        if (vocab < size) throw new IllegalArgumentException("a vocabulary of " + vocab + " cannot be split over " + size + " ranks");
        int base = vocab / size, extra = vocab % size;
        int start = rank * base + Math.min(rank, extra);
        return new VocabShard(start, start + base + (rank < extra ? 1 : 0), vocab);
    }

    public int rows() {
        return stop - start;
    }

    public boolean contains(long token) {
        return token >= start && token < stop;
    }
}
