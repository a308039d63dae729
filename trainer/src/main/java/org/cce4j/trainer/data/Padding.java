package org.cce4j.trainer.data;

/**
 * How much of what the model computes is padding: pad tokens over all tokens of the micro-batches
 * (B × T each). Padded micro-batches pad every row to the micro-batch's longest; packed ones pad each
 * packed sequence to the micro-batch's longest. The run reports it per epoch for both.
 *
 * @param padTokens tokens that are padding (keyMask false)
 * @param tokens    all tokens, B × T summed over the micro-batches
 */
public record Padding(long padTokens, long tokens) {
    public static final Padding NONE = new Padding(0, 0);

    public Padding {
        if (padTokens < 0 || tokens < padTokens) throw new IllegalArgumentException("padding " + padTokens + " of " + tokens + " tokens");
    }

    /** pad tokens / all tokens (0 when there are no tokens). */
    public double fraction() {
        return tokens == 0 ? 0 : (double) padTokens / tokens;
    }

    public Padding plus(Padding o) {
        return new Padding(padTokens + o.padTokens, tokens + o.tokens);
    }

    /** A micro-batch of {@code rows} sequences padded to {@code longest}, holding {@code real} tokens that are not padding. */
    public static Padding ofMicroBatch(int rows, int longest, long real) {
        long all = (long) rows * longest;
        return new Padding(all - real, all);
    }

    /**
     * An epoch's padding: its {@code order} cut into steps of {@code perStep} rows and micro-batches of
     * {@code microBatch}, each micro-batch padded to its longest item ({@code length} of an index).
     */
    public static Padding ofEpoch(int[] order, int perStep, int microBatch, java.util.function.IntUnaryOperator length) {
        Padding p = NONE;
        for (int start = 0; start < order.length; start += perStep) {
            int stepEnd = Math.min(order.length, start + perStep);
            for (int m = start; m < stepEnd; m += microBatch) {
                int end = Math.min(stepEnd, m + microBatch), longest = 0;
                long real = 0;
                for (int i = m; i < end; i++) {
                    int len = length.applyAsInt(order[i]);
                    longest = Math.max(longest, len);
                    real += len;
                }
                p = p.plus(ofMicroBatch(end - m, longest, real));
            }
        }
        return p;
    }
}
