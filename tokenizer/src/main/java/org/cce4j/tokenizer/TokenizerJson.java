package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.cce4j.tokenizer.decode.Decoder;
import org.cce4j.tokenizer.decode.Decoders;
import org.cce4j.tokenizer.model.BpeModel;
import org.cce4j.tokenizer.normalize.Normalizer;
import org.cce4j.tokenizer.normalize.Normalizers;
import org.cce4j.tokenizer.postprocess.PostProcessor;
import org.cce4j.tokenizer.pretokenize.MatchFinder;
import org.cce4j.tokenizer.pretokenize.PreTokenizer;
import org.cce4j.tokenizer.pretokenize.PreTokenizers;
import org.cce4j.tokenizer.pretokenize.SplitBehavior;

import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads tokenizer.json into components. Every {@code type} it does not implement, and every
 * field it needs that is missing or of the wrong kind, is refused with a message naming it:
 * a tokenizer is never loaded with part of it silently ignored.
 */
final class TokenizerJson {
    private final String source;

    private TokenizerJson(String source) {
        this.source = source;
    }

    record Parts(BpeModel model, List<AddedToken> addedTokens, Normalizer normalizer, PreTokenizer preTokenizer,
                 PostProcessor postProcessor, Decoder decoder, Truncation truncation, Padding padding) {}

    static Parts parse(JsonNode root, String source) {
        return new TokenizerJson(source).parts(root);
    }

    private Parts parts(JsonNode root) {
        if (!root.isObject()) throw fail("the top level is not a JSON object");
        JsonNode version = root.get("version");
        if (version != null && !version.isNull() && !"1.0".equals(version.asText())) {
            throw fail("unknown tokenizer.json version '" + version.asText() + "' (expected 1.0)");
        }
        JsonNode modelNode = root.get("model");
        if (modelNode == null || modelNode.isNull()) throw fail("no \"model\"");
        BpeModel model = model(modelNode);
        Normalizer normalizer = optional(root.get("normalizer"), this::normalizer);
        PreTokenizer preTokenizer = optional(root.get("pre_tokenizer"), this::preTokenizer);
        List<AddedToken> added = addedTokens(root.get("added_tokens"));
        Map<String, Integer> ids = new HashMap<>(model.vocab());
        for (AddedToken t : added) ids.putIfAbsent(t.content(), t.id());
        PostProcessor post = optional(root.get("post_processor"), n -> postProcessor(n, ids));
        Decoder decoder = optional(root.get("decoder"), this::decoder);
        Truncation truncation = optional(root.get("truncation"), this::truncation);
        Padding padding = optional(root.get("padding"), this::padding);
        return new Parts(model, added, normalizer, preTokenizer, post, decoder, truncation, padding);
    }

    private BpeModel model(JsonNode n) {
        String type = n.has("type") ? text(n, "type", "model") : (n.has("merges") ? "BPE" : null);
        if (!"BPE".equals(type)) {
            throw fail("unsupported model type '" + (type == null ? "(none)" : type) + "' (only BPE is implemented)");
        }
        JsonNode vocabNode = n.get("vocab");
        if (vocabNode == null || !vocabNode.isObject()) throw fail("model.vocab is not an object");
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw fail("model.vocab entry '" + e.getKey() + "' has no valid id");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        List<String[]> merges = new ArrayList<>();
        JsonNode mergesNode = n.get("merges");
        if (mergesNode != null && !mergesNode.isNull()) {
            if (!mergesNode.isArray()) throw fail("model.merges is not an array");
            int rank = 0;
            for (JsonNode m : mergesNode) {
                rank++;
                if (m.isTextual()) {
                    String line = m.asText();
                    if (line.startsWith("#version")) continue;
                    String[] parts = line.split(" ", -1);
                    if (parts.length != 2) throw fail("model.merges entry " + rank + " ('" + line + "') is not two tokens separated by one space");
                    merges.add(parts);
                } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                    merges.add(new String[] {m.get(0).asText(), m.get(1).asText()});
                } else {
                    throw fail("model.merges entry " + rank + " is neither \"a b\" nor [\"a\", \"b\"]");
                }
            }
        }
        String unk = optText(n, "unk_token");
        String prefix = optText(n, "continuing_subword_prefix");
        String suffix = optText(n, "end_of_word_suffix");
        return new BpeModel(vocab, merges, unk, prefix, suffix, bool(n, "fuse_unk", false),
                bool(n, "byte_fallback", false), bool(n, "ignore_merges", false));
    }

    private List<AddedToken> addedTokens(JsonNode n) {
        List<AddedToken> out = new ArrayList<>();
        if (n == null || n.isNull()) return out;
        if (!n.isArray()) throw fail("added_tokens is not an array");
        for (JsonNode t : n) {
            if (!t.has("content") || !t.get("content").isTextual()) throw fail("an added token has no \"content\"");
            out.add(new AddedToken(t.has("id") ? t.get("id").asInt() : -1, t.get("content").asText(),
                    bool(t, "special", false), bool(t, "normalized", !bool(t, "special", false)),
                    bool(t, "lstrip", false), bool(t, "rstrip", false), bool(t, "single_word", false)));
        }
        return out;
    }

    private Normalizer normalizer(JsonNode n) {
        String type = type(n, "normalizer");
        return switch (type) {
            case "Sequence" -> new Normalizers.Sequence(list(n, "normalizers", this::normalizer));
            case "NFC" -> new Normalizers.Unicode(Form.NFC);
            case "NFD" -> new Normalizers.Unicode(Form.NFD);
            case "NFKC" -> new Normalizers.Unicode(Form.NFKC);
            case "NFKD" -> new Normalizers.Unicode(Form.NFKD);
            case "Lowercase" -> new Normalizers.Lowercase();
            case "Strip" -> new Normalizers.Strip(bool(n, "strip_left", true), bool(n, "strip_right", true));
            case "StripAccents" -> new Normalizers.StripAccents();
            case "Replace" -> new Normalizers.Replace(pattern(n.get("pattern"), "Replace normalizer"), text(n, "content", "Replace normalizer"));
            case "Prepend" -> new Normalizers.Prepend(text(n, "prepend", "Prepend normalizer"));
            case "ByteLevel" -> new Normalizers.ByteLevel();
            case "BertNormalizer" -> new Normalizers.Bert(bool(n, "clean_text", true), bool(n, "handle_chinese_chars", true),
                    n.hasNonNull("strip_accents") ? n.get("strip_accents").asBoolean() : null, bool(n, "lowercase", true));
            default -> throw fail("unsupported normalizer type '" + type + "'");
        };
    }

    private PreTokenizer preTokenizer(JsonNode n) {
        String type = type(n, "pre_tokenizer");
        return switch (type) {
            case "Sequence" -> new PreTokenizers.Sequence(list(n, "pretokenizers", this::preTokenizer));
            case "ByteLevel" -> new PreTokenizers.ByteLevel(bool(n, "add_prefix_space", true), bool(n, "use_regex", true));
            case "Split" -> new PreTokenizers.Split(pattern(n.get("pattern"), "Split pre-tokenizer"),
                    SplitBehavior.parse(text(n, "behavior", "Split pre-tokenizer")), bool(n, "invert", false));
            case "Metaspace" -> new PreTokenizers.Metaspace(replacement(n), prependScheme(n), bool(n, "split", true));
            case "Whitespace" -> new PreTokenizers.Whitespace();
            case "WhitespaceSplit" -> new PreTokenizers.WhitespaceSplit();
            case "Punctuation" -> new PreTokenizers.Punctuation(n.hasNonNull("behavior")
                    ? SplitBehavior.parse(n.get("behavior").asText()) : SplitBehavior.ISOLATED);
            case "Digits" -> new PreTokenizers.Digits(bool(n, "individual_digits", false));
            case "BertPreTokenizer" -> new PreTokenizers.Bert();
            case "CharDelimiterSplit" -> {
                String d = text(n, "delimiter", "CharDelimiterSplit");
                if (d.codePointCount(0, d.length()) != 1) throw fail("CharDelimiterSplit.delimiter is not one character");
                yield new PreTokenizers.CharDelimiterSplit(d.codePointAt(0));
            }
            default -> throw fail("unsupported pre_tokenizer type '" + type + "'");
        };
    }

    private PostProcessor postProcessor(JsonNode n, Map<String, Integer> ids) {
        String type = type(n, "post_processor");
        return switch (type) {
            case "Sequence" -> new PostProcessor.Sequence(list(n, "processors", p -> postProcessor(p, ids)));
            case "ByteLevel" -> new PostProcessor.ByteLevel(bool(n, "add_prefix_space", true), bool(n, "trim_offsets", true));
            case "BertProcessing" -> new PostProcessor.ClsSep(pairId(n, "cls", type), pairToken(n, "cls"),
                    pairId(n, "sep", type), pairToken(n, "sep"), false, false);
            case "RobertaProcessing" -> new PostProcessor.ClsSep(pairId(n, "cls", type), pairToken(n, "cls"),
                    pairId(n, "sep", type), pairToken(n, "sep"), bool(n, "trim_offsets", true), bool(n, "add_prefix_space", true));
            case "TemplateProcessing" -> template(n);
            default -> throw fail("unsupported post_processor type '" + type + "'");
        };
    }

    private int pairId(JsonNode n, String field, String type) {
        JsonNode p = n.get(field);
        if (p == null || !p.isArray() || p.size() != 2 || !p.get(1).canConvertToInt()) throw fail(type + "." + field + " is not [token, id]");
        return p.get(1).asInt();
    }

    private static String pairToken(JsonNode n, String field) {
        return n.get(field).get(0).asText();
    }

    private PostProcessor template(JsonNode n) {
        JsonNode single = n.get("single");
        if (single == null || !single.isArray()) throw fail("TemplateProcessing.single is not a list");
        JsonNode specials = n.get("special_tokens");
        List<Integer> prefix = new ArrayList<>(), suffix = new ArrayList<>();
        List<String> prefixTokens = new ArrayList<>(), suffixTokens = new ArrayList<>();
        boolean seenSequence = false;
        for (JsonNode item : single) {
            if (item.has("Sequence")) {
                String id = item.get("Sequence").path("id").asText("A");
                if (!"A".equals(id)) throw fail("TemplateProcessing.single uses sequence $" + id + " (only $A exists for one sequence)");
                if (seenSequence) throw fail("TemplateProcessing.single names $A twice");
                seenSequence = true;
            } else if (item.has("SpecialToken")) {
                String id = item.get("SpecialToken").path("id").asText();
                JsonNode tok = specials == null ? null : specials.get(id);
                if (tok == null || !tok.has("ids")) throw fail("TemplateProcessing: missing special token '" + id + "' in special_tokens");
                JsonNode strings = tok.path("tokens");
                int k = 0;
                for (JsonNode i : tok.get("ids")) {
                    (seenSequence ? suffix : prefix).add(i.asInt());
                    (seenSequence ? suffixTokens : prefixTokens).add(strings.has(k) ? strings.get(k).asText() : id);
                    k++;
                }
            } else {
                throw fail("TemplateProcessing.single has an item that is neither Sequence nor SpecialToken");
            }
        }
        if (!seenSequence) throw fail("TemplateProcessing.single does not contain $A");
        // the pair template is checked too, so that a malformed file is refused whichever way it is used
        JsonNode pair = n.get("pair");
        if (pair != null && pair.isArray()) {
            for (JsonNode item : pair) {
                if (item.has("SpecialToken")) {
                    String id = item.get("SpecialToken").path("id").asText();
                    if (specials == null || specials.get(id) == null) throw fail("TemplateProcessing: missing special token '" + id + "' in special_tokens");
                }
            }
        }
        return new PostProcessor.Template(prefix.stream().mapToInt(Integer::intValue).toArray(), prefixTokens.toArray(new String[0]),
                suffix.stream().mapToInt(Integer::intValue).toArray(), suffixTokens.toArray(new String[0]));
    }

    private Decoder decoder(JsonNode n) {
        String type = type(n, "decoder");
        return switch (type) {
            case "Sequence" -> new Decoders.Sequence(list(n, "decoders", this::decoder));
            case "ByteLevel" -> new Decoders.ByteLevel();
            case "Metaspace" -> new Decoders.Metaspace(replacement(n), !"never".equals(prependScheme(n)));
            case "ByteFallback" -> new Decoders.ByteFallback();
            case "Fuse" -> new Decoders.Fuse();
            case "Strip" -> {
                String c = text(n, "content", "Strip decoder");
                if (c.codePointCount(0, c.length()) != 1) throw fail("Strip decoder content is not one character");
                yield new Decoders.Strip(c.codePointAt(0), n.path("start").asInt(0), n.path("stop").asInt(0));
            }
            case "Replace" -> new Decoders.Replace(new Normalizers.Replace(pattern(n.get("pattern"), "Replace decoder"),
                    text(n, "content", "Replace decoder")));
            case "BPEDecoder" -> new Decoders.Bpe(n.hasNonNull("suffix") ? n.get("suffix").asText() : "</w>");
            case "WordPiece" -> new Decoders.WordPiece(n.hasNonNull("prefix") ? n.get("prefix").asText() : "##", bool(n, "cleanup", true));
            default -> throw fail("unsupported decoder type '" + type + "'");
        };
    }

    private Truncation truncation(JsonNode n) {
        if (!n.has("max_length")) throw fail("truncation has no max_length");
        return new Truncation(n.get("max_length").asInt(), "Left".equals(n.path("direction").asText("Right")));
    }

    private Padding padding(JsonNode n) {
        JsonNode strategy = n.get("strategy");
        Integer fixed = null;
        if (strategy != null && strategy.isObject() && strategy.has("Fixed")) fixed = strategy.get("Fixed").asInt();
        else if (strategy != null && !(strategy.isTextual() && strategy.asText().equals("BatchLongest"))) {
            throw fail("unsupported padding strategy " + strategy);
        }
        return new Padding(fixed, n.path("pad_to_multiple_of").asInt(0), "Left".equals(n.path("direction").asText("Right")),
                n.path("pad_id").asInt(0));
    }

    private MatchFinder pattern(JsonNode p, String where) {
        if (p == null || !p.isObject()) throw fail(where + " has no pattern");
        if (p.has("String")) return MatchFinder.literal(p.get("String").asText());
        if (p.has("Regex")) return MatchFinder.regex(p.get("Regex").asText());
        throw fail(where + " pattern is neither String nor Regex");
    }

    private char replacement(JsonNode n) {
        String r = n.hasNonNull("replacement") ? n.get("replacement").asText() : "\u2581";
        if (r.length() != 1) throw fail("Metaspace.replacement is not one character");
        return r.charAt(0);
    }

    private String prependScheme(JsonNode n) {
        if (n.hasNonNull("prepend_scheme")) {
            String s = n.get("prepend_scheme").asText();
            if (!s.equals("always") && !s.equals("first") && !s.equals("never")) throw fail("unknown Metaspace prepend_scheme '" + s + "'");
            return s;
        }
        if (n.hasNonNull("add_prefix_space")) return n.get("add_prefix_space").asBoolean() ? "always" : "never";
        return "always";
    }

    // ---- small JSON helpers

    private interface Reader<T> {
        T read(JsonNode n);
    }

    private <T> T optional(JsonNode n, Reader<T> reader) {
        return n == null || n.isNull() ? null : reader.read(n);
    }

    private <T> List<T> list(JsonNode n, String field, Reader<T> reader) {
        JsonNode a = n.get(field);
        if (a == null || !a.isArray()) throw fail(type(n, "component") + "." + field + " is not a list");
        List<T> out = new ArrayList<>();
        for (JsonNode item : a) out.add(reader.read(item));
        return out;
    }

    private String type(JsonNode n, String what) {
        if (!n.isObject() || !n.hasNonNull("type")) throw fail(what + " has no \"type\"");
        return n.get("type").asText();
    }

    private String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) throw fail(where + "." + field + " is missing or not a string");
        return v.asText();
    }

    private static String optText(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static boolean bool(JsonNode n, String field, boolean dflt) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? dflt : v.asBoolean();
    }

    private TokenizerException fail(String what) {
        return new TokenizerException(source + ": " + what);
    }
}
