package org.cce4j.tokenizer;

/**
 * The ids of a text with, for each, the span of the input it came from: token {@code i} came from
 * {@code text.substring(starts[i], ends[i])}. What the Rust library's {@code Encoding.offsets} (and
 * transformers' {@code return_offsets_mapping=True}) give, in Java's units: indices of UTF-16
 * {@code char}s where the Rust library counts code points (Python's string indices), so that a
 * character outside the Basic Multilingual Plane (an emoji) counts two here and one there.
 *
 * <ul>
 *   <li>tokens the post-processor adds (BOS, CLS/SEP) and padding have the empty span (0, 0);</li>
 *   <li>an added token found in the text has the span of the text it matched, including the
 *       whitespace its {@code lstrip}/{@code rstrip} swallowed;</li>
 *   <li>a byte-level or byte-fallback token that holds part of a character's UTF-8 bytes has the
 *       whole character's span, so consecutive tokens may share one;</li>
 *   <li>text the normalizer or pre-tokenizer inserted (Llama 2's leading "▁", a prefix space)
 *       takes the span of the character it was attached to; text it composed (NFC's "é" from
 *       "e" + U+0301) takes the span of the first character it came from, as in the Rust library.</li>
 * </ul>
 *
 * The arrays are the encoding's own (not copied); callers should not change them.
 */
public record Encoding(int[] ids, int[] starts, int[] ends) {
    public Encoding {
        if (starts.length != ids.length || ends.length != ids.length) {
            throw new IllegalArgumentException("ids, starts and ends differ in length: " + ids.length + ", " + starts.length + ", " + ends.length);
        }
    }

    /** The number of tokens. */
    public int length() {
        return ids.length;
    }
}
