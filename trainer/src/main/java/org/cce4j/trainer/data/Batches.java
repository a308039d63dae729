package org.cce4j.trainer.data;

import org.cce4j.transformer.model.Batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rows → the transformer's {@link Batch}: a micro-batch is padded on the right to its longest row,
 * with the pad token as input, -100 as label and keyMask false at pad positions (keyMask null when
 * no row is padded), positions 0..T-1 in every row, no packing (documents null).
 * <pre>
 *   rows  [a0 a1 a2 a3]      inputIds [a0 a1 a2 a3 | b0 b1 P  P ]   labels  [la0 la1 la2 la3 | lb0 lb1 -100 -100]
 *         [b0 b1]            keyMask  [ T  T  T  T |  T  T  F  F]   positions [0 1 2 3 | 0 1 2 3]
 * </pre>
 */
public final class Batches {
    private Batches() {}

    /** The micro-batch of {@code indices} (rows of {@code rows}), padded with {@code padTokenId}. */
    public static MicroBatch microBatch(TokenRows rows, int[] indices, int padTokenId) {
        if (indices.length == 0) throw new IllegalArgumentException("a micro-batch needs at least one row");
        if (padTokenId < 0) throw new IllegalArgumentException("pad token id must be >= 0, got " + padTokenId);
        TokenRow[] picked = new TokenRow[indices.length];
        int longest = 0;
        boolean padded = false;
        long targets = 0;
        for (int b = 0; b < indices.length; b++) {
            picked[b] = rows.row(indices[b]);
            int len = picked[b].length();
            if (b > 0 && len != longest) padded = true;
            longest = Math.max(longest, len);
            targets += picked[b].targets();
        }
        int t = longest, n = indices.length * t;
        int[] inputIds = new int[n];
        int[] positions = new int[n];
        long[] labels = new long[n];
        boolean[] keyMask = padded ? new boolean[n] : null;
        for (int b = 0; b < picked.length; b++) {
            int[] ids = picked[b].inputIds(), lab = picked[b].labels();
            int base = b * t;
            for (int i = 0; i < t; i++) {
                positions[base + i] = i;
                if (i < ids.length) {
                    inputIds[base + i] = ids[i];
                    labels[base + i] = lab[i];
                } else {
                    inputIds[base + i] = padTokenId;
                    labels[base + i] = Rows.IGNORE_INDEX;
                }
            }
            if (keyMask != null) Arrays.fill(keyMask, base, base + ids.length, true);
        }
        return new MicroBatch(new Batch(indices.length, t, inputIds, positions, labels, null, keyMask), indices.clone(), targets);
    }

    /** Every micro-batch of {@code step}, and the step's target count N_s. */
    public static StepBatches of(TokenRows rows, Step step, int padTokenId) {
        List<MicroBatch> micro = new ArrayList<>(step.microBatches().size());
        long targets = 0;
        for (int[] indices : step.microBatches()) {
            MicroBatch m = microBatch(rows, indices, padTokenId);
            micro.add(m);
            targets += m.targets();
        }
        return new StepBatches(step.number(), micro, targets);
    }

    /** The target count of these rows (a step's N_s without building its batches). */
    public static long targets(TokenRows rows, int[] indices) {
        long n = 0;
        for (int i : indices) n += rows.row(i).targets();
        return n;
    }
}
