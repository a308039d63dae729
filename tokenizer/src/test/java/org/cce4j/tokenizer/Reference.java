package org.cce4j.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * The reference: Hugging Face's Rust tokenizers library (0.21 inside DJL 0.34), with DJL's own
 * defaults (truncation to 512, padding) switched off so that it returns exactly what the Rust
 * library's {@code encode} returns.
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
        try {
            return new Reference(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), OPTIONS));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = djl.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
        return out;
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
