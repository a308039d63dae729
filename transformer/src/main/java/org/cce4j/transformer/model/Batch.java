package org.cce4j.transformer.model;

import java.util.Arrays;

/**
 * One batch of B sequences of T tokens, flattened row-major (token (b, t) at b·T + t).
 * <pre>
 *   inputIds   the tokens
 *   positions  RoPE positions (0..T-1 per row; restarting at each document when packed)
 *   labels     the targets of the loss before the shift (-100: not trained on); position t+1's
 *              label is what position t predicts
 *   documents  packed sequences: tokens attend only within their document id (null: one per row)
 *   keyMask    padding: false for pad tokens, which no query attends to (null: no padding)
 * </pre>
 */
public record Batch(int batch, int seqLen, int[] inputIds, int[] positions, long[] labels, int[] documents, boolean[] keyMask) {

    public Batch {
        int n = batch * seqLen;
        if (inputIds.length != n || positions.length != n || labels.length != n
                || (documents != null && documents.length != n) || (keyMask != null && keyMask.length != n)) {
            throw new IllegalArgumentException("batch arrays must hold " + n + " tokens");
        }
    }

    /** Plain causal language modelling: labels = inputs, positions 0..T-1, no packing or padding. */
    public static Batch causal(int batch, int seqLen, int[] ids) {
        int[] pos = new int[ids.length];
        long[] labels = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            pos[i] = i % seqLen;
            labels[i] = ids[i];
        }
        return new Batch(batch, seqLen, ids, pos, labels, null, null);
    }

    public int tokens() {
        return batch * seqLen;
    }

    @Override
    public String toString() {
        return "Batch[" + batch + "×" + seqLen + (documents != null ? ", packed" : "") + (keyMask != null ? ", padded" : "") + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && b.batch == batch && b.seqLen == seqLen && Arrays.equals(b.inputIds, inputIds)
                && Arrays.equals(b.positions, positions) && Arrays.equals(b.labels, labels)
                && Arrays.equals(b.documents, documents) && Arrays.equals(b.keyMask, keyMask);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(inputIds) * 31 + batch;
    }
}
