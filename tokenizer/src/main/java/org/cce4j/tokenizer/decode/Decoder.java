package org.cce4j.tokenizer.decode;

import java.util.List;

/**
 * A tokenizer.json decoder: turns token strings back into text. Decoders chain (each maps the
 * list of strings to a new list) and the final text is the concatenation, as in the Rust library.
 */
public interface Decoder {
    List<String> decodeChain(List<String> tokens);

    default String decode(List<String> tokens) {
        return String.join("", decodeChain(tokens));
    }
}
