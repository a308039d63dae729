package org.cce4j.transformer.backend;

/**
 * What one decode-attention call needs besides its tensors: a single new query q [1, heads·headDim]
 * attends to the first {@code keys} rows of a key/value cache [capacity, kvHeads·headDim]. Every one
 * of those rows is visible: the cache holds only what the query may see (a sliding-window layer's
 * cache is its window), so there is no mask, and the rows' order does not matter (a softmax over a
 * set). Query head h reads key/value head h / (heads / kvHeads), as in {@link AttentionShape}.
 * <pre>
 *   scores_j = softcap(scale · q·k_j),  softcap(x) = c·tanh(x/c) when softcap > 0,   j < keys
 *   out      = Σ_j softmax(scores)_j · v_j
 * </pre>
 */
public record DecodeShape(int heads, int kvHeads, int headDim, float scale, float softcap, int keys) {

    public DecodeShape {
        if (heads % kvHeads != 0) throw new IllegalArgumentException(heads + " heads do not share " + kvHeads + " key/value heads evenly");
        if (keys < 1) throw new IllegalArgumentException("decode attention needs at least one cached key, got " + keys);
    }

    /** The heads, head size, scale and softcap of a layer's attention, over {@code keys} cached rows. */
    public static DecodeShape of(AttentionShape layer, int keys) {
        return new DecodeShape(layer.heads(), layer.kvHeads(), layer.headDim(), layer.scale(), layer.softcap(), keys);
    }
}
