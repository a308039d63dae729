package org.cce4j.trainer.data.formats;

/**
 * One row as a format's encoder made it, before the length rules: token ids and labels aligned
 * with them (-100 = not trained on; {@code labels == inputIds} when every token is trained on).
 *
 * @param boundaryMerged the prompt's own tokens are not where prompt + completion's tokens start
 *                       (tokens merged across the boundary); the first |prompt| tokens are the
 *                       prompt all the same, as in TRL (see {@link PromptCompletionEncoder})
 */
record EncodedRow(int[] inputIds, int[] labels, boolean boundaryMerged) {
    EncodedRow(int[] inputIds, int[] labels) {
        this(inputIds, labels, false);
    }
}
