package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

import java.util.Locale;

/**
 * {@code data.validation_fraction}: a fraction of the training data's documents held back as the
 * validation set when no validation file is given. The choice is a function of (the documents,
 * the fraction, train.seed) alone — the first round(f × D) documents of a seeded shuffle of the D
 * documents ({@link EpochOrder} with a salt of its own) — so a resumed run holds back the same rows.
 * A document is a row, or all the pieces of a row that overflow = split cut ({@link Documents}): no
 * piece of a held-back document is trained on. Both sets keep file order.
 *
 * @param train      the rows trained on
 * @param validation the rows held back
 * @param documents  D, the documents of the data
 * @param held       the documents held back
 */
public record ValidationSplit(RowSubset train, RowSubset validation, int documents, int held) {
    /** XORed into train.seed for the choice ("VALIDATE" in ASCII). */
    public static final long SALT = 0x56414C4944415445L;

    public static ValidationSplit of(TokenRows rows, Documents docs, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) throw new IllegalArgumentException("fraction must be in (0, 1), got " + fraction);
        int[] starts = docs.starts(rows.size());
        int d = starts.length - 1;
        int k = (int) Math.min(d - 1L, Math.max(1L, Math.round(fraction * d)));
        if (d < 2) {
            throw new InvalidInputException("data.validation_fraction " + fraction + ": the training data has " + d
                    + " document, too few to hold any back (give data.validation instead)");
        }
        int[] order = EpochOrder.of(d, true, seed ^ SALT, 0);
        boolean[] held = new boolean[d];
        for (int i = 0; i < k; i++) held[order[i]] = true;
        int heldRows = 0;
        for (int doc = 0; doc < d; doc++) if (held[doc]) heldRows += starts[doc + 1] - starts[doc];
        int[] t = new int[rows.size() - heldRows], v = new int[heldRows];
        int ti = 0, vi = 0;
        for (int doc = 0; doc < d; doc++) {
            for (int r = starts[doc]; r < starts[doc + 1]; r++) {
                if (held[doc]) v[vi++] = r;
                else t[ti++] = r;
            }
        }
        return new ValidationSplit(new RowSubset(rows, t), new RowSubset(rows, v), d, k);
    }

    /** One line for the run's log. */
    public String summary(double fraction) {
        long tokens = 0, targets = 0;
        for (int i = 0; i < validation.size(); i++) {
            tokens += validation.length(i);
            targets += validation.row(i).targets();
        }
        return String.format(Locale.ROOT, "%d of %d documents held back from data.train (data.validation_fraction %s): %d rows, %d tokens, %d targets",
                held, documents, fraction, validation.size(), tokens, targets);
    }
}
