package org.cce4j.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * The reference: Hugging Face's Rust tokenizers library (0.21 inside DJL 0.34), with DJL's own
 * defaults (truncation to 512, padding) switched off so that it returns exactly what the Rust
 * library's {@code encode} returns. DJL encodes with the Rust library's {@code encode_char_offsets},
 * so its spans count code points (as Python's do); it gives no span (null) for the tokens a
 * post-processor added, whose offsets in the Rust library are (0, 0).
 */
final class Reference implements AutoCloseable {
    private static final Map<String, String> OPTIONS = Map.of("truncation", "false", "padding", "false",
            "addSpecialTokens", "true", "modelMaxLength", "100000000");

    private final HuggingFaceTokenizer djl;

    private Reference(HuggingFaceTokenizer djl) {
        this.djl = djl;
    }

    static Reference load(Path folder) {
        try {
            return new Reference(HuggingFaceTokenizer.newInstance(folder.resolve("tokenizer.json"), OPTIONS));
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            Assumptions.abort("DJL tokenizers could not load (" + e + "); skipping the comparison");
            return null;
        }
    }

    static Reference fromJson(String json) {
        return fromJson(json, OPTIONS);
    }

    /** With DJL options of the caller's (e.g. truncation and padding on, which keep the file's direction and pad token). */
    static Reference fromJson(String json, Map<String, String> options) {
        try {
            return new Reference(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), options));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** The Rust library's ids and, for each, its span in code points of the text (null for post-processor tokens). */
    record Encoded(int[] ids, CharSpan[] codePointSpans) {}

    Encoded encode(String text, boolean addSpecialTokens) {
        ai.djl.huggingface.tokenizers.Encoding e = djl.encode(text, addSpecialTokens, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
        return new Encoded(out, e.getCharTokenSpans());
    }

    String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return djl.decode(l, skipSpecialTokens);
    }

    @Override
    public void close() {
        djl.close();
    }
}
