package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What tokenizer_config.json adds to tokenizer.json: the names of the bos/eos/pad/unk tokens and
 * the Jinja chat template. Each token may be given as a string or as an object with
 * {@code content}; a chat template given as a list of named templates contributes its
 * {@code default} one.
 */
public record TokenizerConfig(String bosToken, String eosToken, String padToken, String unkToken,
                              String chatTemplate, JsonNode raw) {
    public static final TokenizerConfig EMPTY = new TokenizerConfig(null, null, null, null, null, null);

    static TokenizerConfig parse(JsonNode n, String source) {
        if (!n.isObject()) throw new TokenizerException(source + ": the top level is not a JSON object");
        String template = null;
        JsonNode t = n.get("chat_template");
        if (t != null && t.isTextual()) template = t.asText();
        else if (t != null && t.isArray()) {
            for (JsonNode named : t) if ("default".equals(named.path("name").asText())) template = named.path("template").asText();
        }
        return new TokenizerConfig(token(n.get("bos_token")), token(n.get("eos_token")), token(n.get("pad_token")),
                token(n.get("unk_token")), template, n);
    }

    private static String token(JsonNode v) {
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.asText();
        if (v.isObject() && v.hasNonNull("content")) return v.get("content").asText();
        return null;
    }
}
