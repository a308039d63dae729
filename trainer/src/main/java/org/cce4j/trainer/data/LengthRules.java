package org.cce4j.trainer.data;

import java.util.Arrays;

/**
 * The length rules every reader applies to a row, as a function of the row alone (no counters), so
 * that the sequential {@link RowCollector} and the token cache's worker threads apply the very same
 * rules: a row longer than seq_len is truncated, split into pieces that overlap by one token (each
 * piece's first label is its context), or refused ({@link Overflow}); a row, or each kept piece, must
 * keep a target.
 */
public final class LengthRules {
    private LengthRules() {}

    /**
     * What the rules keep of one row.
     *
     * @param ids           the kept rows' ids (one row, or the pieces of a split row, in order)
     * @param labels        their labels ({@code ids[k]} itself when every token is trained on)
     * @param truncated     the row was cut to seq_len
     * @param split         the row was cut into pieces
     * @param droppedPieces pieces of a split row dropped for holding no target
     */
    public record Kept(int[][] ids, int[][] labels, boolean truncated, boolean split, int droppedPieces) {
        public int count() {
            return ids.length;
        }

        public TokenRow row(int k) {
            int[] l = Arrays.equals(labels[k], ids[k]) ? ids[k] : labels[k];
            return new TokenRow(ids[k], l, TokenRow.countTargets(l));
        }
    }

    /** Applies the rules to a row; {@code labels} may be {@code ids} itself. The arrays may be kept, not copied. */
    public static Kept apply(int[] ids, int[] labels, RowOptions options) throws BadRowException {
        int seqLen = options.seqLen();
        if (ids.length <= seqLen) {
            if (TokenRow.countTargets(labels) == 0) throw noTargets(ids.length, false, seqLen);
            return new Kept(new int[][] {ids}, new int[][] {labels}, false, false, 0);
        }
        switch (options.overflow()) {
            case ERROR -> throw new BadRowException(BadRow.TOO_LONG,
                    "the row has " + ids.length + " tokens, more than seq_len " + seqLen + " (data.overflow = error)");
            case TRUNCATE -> {
                int[] cutIds = Arrays.copyOf(ids, seqLen);
                int[] cutLabels = labels == ids ? cutIds : Arrays.copyOf(labels, seqLen);
                if (TokenRow.countTargets(cutLabels) == 0) throw noTargets(ids.length, true, seqLen);
                return new Kept(new int[][] {cutIds}, new int[][] {cutLabels}, true, false, 0);
            }
            default -> {
                int dropped = 0, n = 0;
                int[][] pieceIds = new int[(ids.length - 2) / (seqLen - 1) + 1][];
                int[][] pieceLabels = new int[pieceIds.length][];
                for (int start = 0; ; start += seqLen - 1) {
                    int end = Math.min(start + seqLen, ids.length);
                    int[] pi = Arrays.copyOfRange(ids, start, end);
                    int[] pl = labels == ids ? pi : Arrays.copyOfRange(labels, start, end);
                    if (TokenRow.countTargets(pl) > 0) {
                        pieceIds[n] = pi;
                        pieceLabels[n++] = pl;
                    } else {
                        dropped++;
                    }
                    if (end == ids.length) break;
                }
                if (n == 0) {
                    throw new BadRowException(BadRow.NO_TARGETS, "no trained target in any piece of the row: every label after the first is -100");
                }
                return new Kept(Arrays.copyOf(pieceIds, n), Arrays.copyOf(pieceLabels, n), false, true, dropped);
            }
        }
    }

    private static BadRowException noTargets(int length, boolean truncatedRow, int seqLen) {
        String why = length == 1 ? "a row of one token has no target (token t is trained to predict labels[t+1])"
                : truncatedRow ? "no trained target in the first " + seqLen + " tokens (seq_len): every label after the first is -100"
                : "no trained target: every label after the first is -100";
        return new BadRowException(BadRow.NO_TARGETS, why);
    }
}
