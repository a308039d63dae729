package org.cce4j.transformer.model;

import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.AttentionShape;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.DecodeShape;

/**
 * The keys and values of one sequence that generation has run so far, per layer, on the backend's
 * device in its compute dtype (after RoPE, as the attention reads them). A sliding-window layer keeps
 * only its window, as a ring, because its queries never see more:
 * <pre>
 *   layer l:   k, v  [slots_l, kvHeads·headDim]
 *              slots_l = capacity (full attention) or min(window_l, capacity) (sliding window)
 *   the key of position p lives in slot p mod slots_l
 *   the query at position P sees slots [0, min(P + 1, slots_l)): exactly positions P − window + 1 .. P
 * </pre>
 * A pass with a cache (TransformerModel.extend) is one of two kinds, chosen by what is cached:
 * <pre>
 *   prefill  (nothing cached): the prompt attends to itself with the training attention (causal,
 *            windowed), then its keys and values are stored (only the last slots_l of them)
 *   decode   (one new token):  its key and value are stored, then its query attends over the filled
 *            slots with Backend.decodeAttention
 * </pre>
 * Since softmax·V is a sum over a set of keys, the ring's order does not matter; the result differs
 * from the full forward's only by the order of the sums.
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys, values;
    private final int capacity;
    private int length;

    /**
     * @param windows  per layer, its sliding window or 0 for full attention
     * @param capacity the most tokens the sequence will hold (prompt and generated)
     */
    KvCache(Backend be, int kvWidth, int[] windows, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("a KV cache holds at least one token, not " + capacity);
        this.capacity = capacity;
        keys = new Tensor[windows.length];
        values = new Tensor[windows.length];
        try {
            for (int l = 0; l < windows.length; l++) {
                int slots = windows[l] > 0 ? Math.min(windows[l], capacity) : capacity;
                keys[l] = be.empty(be.computeDType(), slots, kvWidth);
                values[l] = be.empty(be.computeDType(), slots, kvWidth);
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Tokens run so far: the position of the next one. */
    public int length() {
        return length;
    }

    /** The most tokens this cache can hold. */
    public int capacity() {
        return capacity;
    }

    /** Slots of layer {@code layer} (its window, or the capacity). */
    int slots(int layer) {
        return (int) keys[layer].dim(0);
    }

    /**
     * out = attention of q (the pass's tokens, positions length() onwards) over everything layer
     * {@code layer} may see, appending k and v [n, kvHeads·hd] to its cache. {@code shape} is the
     * layer's attention over the pass's tokens alone.
     */
    void attend(int layer, Backend be, AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor out, Scratch mem) {
        int n = shape.tokens();
        if (shape.batch() != 1) throw new IllegalArgumentException("a KV cache holds one sequence, not " + shape.batch());
        if (length + n > capacity) {
            throw new IllegalStateException("the KV cache holds " + capacity + " tokens; " + length + " are cached and " + n + " more came");
        }
        if (length == 0) {
            be.attention(shape, q, k, v, out, mem.allocF32(n, shape.heads()));
            store(be, k, keys[layer], n);
            store(be, v, values[layer], n);
        } else {
            if (n != 1) throw new IllegalStateException("after the prompt, tokens go through the cache one at a time, not " + n);
            store(be, k, keys[layer], 1);
            store(be, v, values[layer], 1);
            int visible = Math.min(length + 1, slots(layer));
            be.decodeAttention(DecodeShape.of(shape, visible), q, keys[layer], values[layer], out);
        }
    }

    /** Rows of src (positions length() ...) into their slots, in at most two copies per wrap of the ring. */
    private void store(Backend be, Tensor src, Tensor cache, int n) {
        int slots = (int) cache.dim(0);
        for (int r = Math.max(0, n - slots); r < n; ) {   // rows before the last `slots` fall out of a window
            int slot = (length + r) % slots;
            int run = Math.min(n - r, slots - slot);
            be.copy(src.slice(r, r + run), cache.slice(slot, slot + run));
            r += run;
        }
    }

    /** Counts {@code n} more tokens as cached (after every layer has stored them). */
    void advance(int n) {
        length += n;
    }

    @Override
    public void close() {
        for (Tensor t : keys) if (t != null) t.close();
        for (Tensor t : values) if (t != null) t.close();
    }
}
