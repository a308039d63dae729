package org.cce4j.trainer.data;

/**
 * One training row as the model takes it: token ids, and labels aligned with them (the model
 * shifts: position t predicts {@code labels[t+1]}; -100 = not trained on). When a row had no
 * labels of its own, {@code labels} is the same array as {@code inputIds}. The arrays belong to the
 * store that handed them out: read them, never write them.
 *
 * @param inputIds the tokens, each in [0, vocabulary size), at most seq_len of them
 * @param labels   as many labels as tokens: -100 or a token id
 * @param targets  #{t >= 1 : labels[t] != -100}, the tokens the loss counts (at least 1)
 */
public record TokenRow(int[] inputIds, int[] labels, int targets) {

    public int length() {
        return inputIds.length;
    }

    /** #{t >= 1 : labels[t] != -100}: the targets a row of these labels contributes to the loss. */
    public static int countTargets(int[] labels) {
        int n = 0;
        for (int t = 1; t < labels.length; t++) {
            if (labels[t] != Rows.IGNORE_INDEX) n++;
        }
        return n;
    }
}
