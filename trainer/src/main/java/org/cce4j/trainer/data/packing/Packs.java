package org.cce4j.trainer.data.packing;

import java.util.Arrays;

/**
 * The packed sequences of one epoch: each a list of row indices whose tokens, one row after the
 * other, fit in seq_len. Stored flat, so that millions of packs are two int arrays and not millions
 * of objects:
 * <pre>
 *   rows   [ r r r | r | r r | ... ]     the rows of pack 0, then of pack 1, ...
 *   start  [ 0     3   4     6 ... n ]   pack p holds rows[start[p] .. start[p+1])
 *   tokens [ t0    t1  t2 ... ]          tokens of pack p (the sum of its rows' lengths)
 * </pre>
 */
public final class Packs {
    private final int[] rows;
    private final int[] start;
    private final int[] tokens;

    Packs(int[] rows, int[] start, int[] tokens) {
        if (start.length != tokens.length + 1 || start[0] != 0 || start[tokens.length] != rows.length) {
            throw new IllegalArgumentException("inconsistent packs");
        }
        this.rows = rows;
        this.start = start;
        this.tokens = tokens;
    }

    /** The number of packed sequences. */
    public int count() {
        return tokens.length;
    }

    /** The rows of pack {@code p}, in the order their tokens are laid out (a copy). */
    public int[] rows(int p) {
        return Arrays.copyOfRange(rows, start[p], start[p + 1]);
    }

    /** How many rows pack {@code p} holds. */
    public int size(int p) {
        return start[p + 1] - start[p];
    }

    /** The tokens of pack {@code p}: the sum of its rows' lengths, at most seq_len. */
    public int tokens(int p) {
        return tokens[p];
    }

    /** Every row of every pack, pack after pack (a copy). */
    public int[] allRows() {
        return rows.clone();
    }
}
