package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.TokenRows;
import org.cce4j.transformer.model.Batch;

import java.util.Arrays;
import java.util.List;

/**
 * Packed sequences → the transformer's {@link Batch}. Each batch row holds one pack's documents one
 * after the other: positions restart at 0 at each document, {@code documents} numbers them 0, 1, ...
 * within the row (attention stays inside a document), and each document's first label is -100, as
 * transformers' DataCollatorWithFlattening sets it, so that the last token of one document is not
 * trained to predict the first of the next. Packs shorter than the micro-batch's longest are padded
 * on the right: pad token, label -100, keyMask false, a document id of their own (keyMask null when
 * nothing is padded).
 * <pre>
 *   pack [a0 a1 a2][b0 b1]     inputIds  [a0 a1 a2 b0 b1 | c0 c1 c2 P  P ]
 *   pack [c0 c1 c2]            labels    [-100 la1 la2 -100 lb1 | -100 lc1 lc2 -100 -100]
 *                              positions [0 1 2 0 1 | 0 1 2 0 1]   documents [0 0 0 1 1 | 0 0 0 1 1]
 *                              keyMask   [T T T T T | T T T F F]
 * </pre>
 * The targets are the rows' own (a row's label 0 is never a target: position t predicts labels[t+1]),
 * so a packed step has the N_s of the same rows unpacked.
 */
public final class PackedBatches {
    private static final int IGNORE_INDEX = -100;

    private PackedBatches() {}

    /** The micro-batch of {@code packs} (each a list of rows of {@code rows}), padded with {@code padTokenId}. */
    public static MicroBatch microBatch(TokenRows rows, List<int[]> packs, int padTokenId) {
        if (packs.isEmpty()) throw new IllegalArgumentException("a micro-batch needs at least one packed sequence");
        if (padTokenId < 0) throw new IllegalArgumentException("pad token id must be >= 0, got " + padTokenId);
        int longest = 0, rowCount = 0;
        boolean padded = false;
        for (int b = 0; b < packs.size(); b++) {
            int len = 0;
            for (int r : packs.get(b)) len += rows.length(r);
            if (len == 0) throw new IllegalArgumentException("packed sequence " + b + " is empty");
            if (b > 0 && len != longest) padded = true;
            longest = Math.max(longest, len);
            rowCount += packs.get(b).length;
        }
        int t = longest, n = packs.size() * t;
        int[] inputIds = new int[n], positions = new int[n], documents = new int[n], held = new int[rowCount];
        long[] labels = new long[n];
        boolean[] keyMask = padded ? new boolean[n] : null;
        long targets = 0;
        int h = 0;
        for (int b = 0; b < packs.size(); b++) {
            int at = b * t, doc = 0;
            for (int r : packs.get(b)) {
                TokenRow row = rows.row(r);
                int[] ids = row.inputIds(), lab = row.labels();
                for (int i = 0; i < ids.length; i++) {
                    inputIds[at + i] = ids[i];
                    labels[at + i] = i == 0 ? IGNORE_INDEX : lab[i];
                    positions[at + i] = i;
                    documents[at + i] = doc;
                }
                at += ids.length;
                doc++;
                targets += row.targets();
                held[h++] = r;
            }
            int end = (b + 1) * t;
            if (keyMask != null) Arrays.fill(keyMask, b * t, at, true);
            for (int i = 0; at + i < end; i++) {
                inputIds[at + i] = padTokenId;
                labels[at + i] = IGNORE_INDEX;
                positions[at + i] = i;
                documents[at + i] = doc;
            }
        }
        return new MicroBatch(new Batch(packs.size(), t, inputIds, positions, labels, documents, keyMask), held, targets);
    }
}
