package org.cce4j.transformer.backend;

/**
 * What one attention call needs to know besides its tensors. q is [B·T, heads·headDim], k and v are
 * [B·T, kvHeads·headDim] (token-major, heads side by side within a row, as the projections produce
 * them); query head h reads key/value head h / (heads / kvHeads).
 * <pre>
 *   key j is visible from query i of the same sequence iff
 *     j <= i                                  (causal)
 *     and i - j < window                      (window > 0: sliding-window layers)
 *     and document[j] == document[i]          (documents != null: packed sequences)
 *     and keyMask[j]                          (keyMask != null: padding is never attended to)
 *   scores = softcap(scale · q·k),  softcap(x) = c·tanh(x/c) when softcap > 0
 * </pre>
 * A query that sees no key at all (a padded row whose own key is masked) gets zeros.
 *
 * @param documents per token (B·T): an id; tokens attend only within their id, or null
 * @param keyMask   per token (B·T): false for padding, or null
 */
public record AttentionShape(int batch, int seqLen, int heads, int kvHeads, int headDim, float scale, float softcap,
                             int window, int[] documents, boolean[] keyMask) {

    public AttentionShape {
        if (heads % kvHeads != 0) throw new IllegalArgumentException(heads + " heads do not share " + kvHeads + " key/value heads evenly");
    }

    public int tokens() {
        return batch * seqLen;
    }

    /** Whether query token i (flat index) sees key token j (flat, same sequence assumed). */
    public boolean visible(int i, int j) {
        if (j > i) return false;
        if (window > 0 && i - j >= window) return false;
        if (documents != null && documents[i] != documents[j]) return false;
        return keyMask == null || keyMask[j];
    }
}
