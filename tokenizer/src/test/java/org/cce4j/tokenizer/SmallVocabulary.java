package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small BPE tokenizer.json with a {@code continuing_subword_prefix} or an
 * {@code end_of_word_suffix} (WordPiece-like spellings no real file of the other tests has):
 * single characters in both spellings, and merges that build some English words left to right.
 */
final class SmallVocabulary {
    private SmallVocabulary() {}

    static String build(String prefix, String suffix) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("[UNK]", 0);
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'!?-";
        for (char c : alphabet.toCharArray()) {
            vocab.putIfAbsent(String.valueOf(c), vocab.size());
            if (prefix != null) vocab.putIfAbsent(prefix + c, vocab.size());
            if (suffix != null) vocab.putIfAbsent(c + suffix, vocab.size());
        }
        ArrayNode merges = TestData.JSON.createArrayNode();
        for (String w : List.of("the", "and", "that", "was", "his", "with", "they", "have", "from", "there", "said", "jury",
                "county", "election", "Fulton", "The", "would", "which", "this")) {
            String left = String.valueOf(w.charAt(0));
            for (int i = 1; i < w.length(); i++) {
                boolean last = i == w.length() - 1;
                String right = (prefix != null ? prefix : "") + w.charAt(i) + (last && suffix != null ? suffix : "");
                String merged = left + w.charAt(i) + (last && suffix != null ? suffix : "");
                if (!vocab.containsKey(merged)) {
                    vocab.put(merged, vocab.size());
                    ArrayNode pair = merges.addArray();
                    pair.add(left).add(right);
                }
                left = merged;
            }
        }
        ObjectNode root = TestData.JSON.createObjectNode();
        root.put("version", "1.0").putNull("truncation").putNull("padding");
        root.putArray("added_tokens").addObject().put("id", 0).put("content", "[UNK]").put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        if (suffix != null) root.putObject("decoder").put("type", "BPEDecoder").put("suffix", suffix);
        else root.putObject("decoder").put("type", "WordPiece").put("prefix", prefix).put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").put("unk_token", "[UNK]");
        if (prefix != null) model.put("continuing_subword_prefix", prefix); else model.putNull("continuing_subword_prefix");
        if (suffix != null) model.put("end_of_word_suffix", suffix); else model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        model.set("merges", merges);
        return root.toString();
    }
}
