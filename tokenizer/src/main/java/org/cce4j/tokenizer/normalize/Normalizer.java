package org.cce4j.tokenizer.normalize;

import org.cce4j.tokenizer.text.NormalizedString;

/** A tokenizer.json normalizer: text in, text out, keeping each unit's original span. */
public interface Normalizer {
    NormalizedString normalize(NormalizedString s);

    /** Normalizes plain text (used for the patterns of added tokens marked {@code normalized}). */
    default String normalize(String s) {
        return normalize(NormalizedString.identity(s, 0)).text();
    }
}
