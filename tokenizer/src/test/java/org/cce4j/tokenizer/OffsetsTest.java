package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.tokenizer.text.ByteLevelAlphabet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link Tokenizer#encodeWithOffsets} beyond the comparison every other test makes with the Rust
 * library on each text (Comparison): a byte-level tokenizer built here (runs without fetched
 * data), the Rust library's offsets of a few hard cases written out in UTF-16, truncation and
 * padding against the Rust library (the other comparisons switch them off), and an oracle that
 * does not use the Rust library: in a byte-level tokenizer with no normalizer the tokens spell the
 * input's UTF-8 bytes in order, so each token's span must be the whole characters its bytes fall in.
 */
class OffsetsTest {

    /** "start-end" per token. */
    private static String spans(Encoding e) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < e.length(); i++) sb.append(i == 0 ? "" : " ").append(e.starts()[i]).append('-').append(e.ends()[i]);
        return sb.toString();
    }

    @Test
    void byteLevelTokenizerBuiltHere() {
        ObjectNode root = TestData.JSON.createObjectNode();
        root.put("version", "1.0").putNull("truncation").putNull("padding").putNull("normalizer");
        ObjectNode vocab = TestData.JSON.createObjectNode();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), b);
        vocab.put("ab", 256);
        vocab.put("" + ByteLevelAlphabet.charOf(0xF0) + ByteLevelAlphabet.charOf(0x9F), 257);   // the first two bytes of 😀
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 258).put("content", "<s>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
        added.addObject().put("id", 259).put("content", "<sep>").put("single_word", false).put("lstrip", true)
                .put("rstrip", true).put("normalized", false).put("special", true);
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        post.putObject("special_tokens").putObject("<s>").put("id", "<s>").putArray("ids").add(258);
        ((ObjectNode) post.get("special_tokens").get("<s>")).putArray("tokens").add("<s>");
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("unk_token");
        model.set("vocab", vocab);
        ArrayNode merges = model.putArray("merges");
        merges.addArray().add("a").add("b");
        merges.addArray().add(String.valueOf(ByteLevelAlphabet.charOf(0xF0))).add(String.valueOf(ByteLevelAlphabet.charOf(0x9F)));
        Tokenizer t = Tokenizer.fromJson(root.toString());

        // a b 😀(2 units) ' ' <sep> ' ' ' ' c: <sep> swallows the space before it and the two after it
        String text = "ab😀 <sep>  c";
        Encoding e = t.encodeWithOffsets(text, true);
        assertArrayEquals(t.encode(text, true), e.ids());
        assertArrayEquals(new int[] {258, 256, 257, 0x98, 0x80, 259, 'c'}, e.ids());
        // <s> added by the template: (0, 0); the three tokens of 😀's four bytes each hold the whole emoji
        assertEquals("0-0 0-2 2-4 2-4 2-4 4-12 12-13", spans(e));
        assertEquals("0-2 2-4 2-4 2-4 4-12 12-13", spans(t.encodeWithOffsets(text, false)));
        assertEquals("", spans(t.encodeWithOffsets("", false)));
        assertEquals("0-0", spans(t.encodeWithOffsets("", true)));
    }

    @Test
    void hardCasesAsTheRustLibraryGivesThemInUtf16() {
        // the Rust library's offsets (DJL, code points) written in UTF-16: 😀 is one code point and two units
        Map<String, String[]> cases = Map.of(
                // <|begin_of_text|>, a, the 3 + 1 bytes of 😀 in two tokens, b, " 日本", 語
                "llama3_1", new String[] {"a😀b 日本語", "0-0 0-1 1-3 1-3 3-4 4-7 7-8"},
                // "▁" put in front takes the span of the first character, here a space that is itself "▁"
                "llama2", new String[] {" Hello  world ", "0-0 0-1 0-6 6-7 7-13 13-14"},
                "gemma3", new String[] {"a😀b 日本語", "0-0 0-1 1-3 3-4 4-7 7-8"},
                // NFC composes e + U+0301 into é, aligned to the e alone: the marks at 1, 10 and 11 are in no span
                "qwen3", new String[] {"e\u0301 vs \u00e9, a\u0308\u0304", "0-1 2-5 5-7 7-8 8-9 9-10"});
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            Tokenizer t = Tokenizer.load(TestData.model(c.getKey()));
            String text = c.getValue()[0];
            Encoding e = t.encodeWithOffsets(text, true);
            assertArrayEquals(t.encode(text, true), e.ids(), c.getKey());
            assertEquals(c.getValue()[1], spans(e), c.getKey() + " " + Comparison.quote(text));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Right", "Left"})
    void truncationAndPaddingAsTheRustLibrary(String direction) throws IOException {
        Path folder = TestData.model("llama3_1");
        ObjectNode json = (ObjectNode) TestData.JSON.readTree(folder.resolve("tokenizer.json").toFile());
        json.set("truncation", TestData.JSON.readTree("{\"direction\":\"" + direction + "\",\"max_length\":12,\"strategy\":\"LongestFirst\",\"stride\":0}"));
        json.set("padding", TestData.JSON.readTree("{\"strategy\":{\"Fixed\":12},\"direction\":\"" + direction + "\",\"pad_to_multiple_of\":null,"
                + "\"pad_id\":128001,\"pad_type_id\":0,\"pad_token\":\"<|end_of_text|>\"}"));
        String text = json.toString();
        Tokenizer ours = Tokenizer.fromJson(text);
        // DJL keeps the file's direction and pad token and sets the length and strategy it is given
        Map<String, String> options = Map.of("truncation", "true", "padding", "max_length", "maxLength", "12",
                "addSpecialTokens", "true", "modelMaxLength", "100000000");
        List<String> texts = new ArrayList<>(TestData.edgeCases());
        List<String> brown = TestData.brown();
        texts.addAll(brown.subList(0, Math.min(200, brown.size())));
        try (Reference ref = Reference.fromJson(text, options)) {
            Comparison.compare("llama3_1 truncated and padded to 12 at the " + direction, ours, ref, texts);
        }
        Encoding e = ours.encodeWithOffsets("Hi", true);
        assertEquals(12, e.length());
        int firstPad = direction.equals("Right") ? 3 : 0;
        assertEquals(128001, e.ids()[firstPad]);
        assertEquals("0-0", e.starts()[firstPad] + "-" + e.ends()[firstPad]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "gpt2", "gpt4o"})
    void byteLevelSpansAreTheCharactersOfEachTokensBytes(String name) {
        Tokenizer t = Tokenizer.load(TestData.model(name));
        Set<String> added = t.addedTokens().stream().map(AddedToken::content).collect(Collectors.toSet());
        List<String> texts = new ArrayList<>(TestData.edgeCases());
        texts.addAll(TestData.withAddedTokens(t));
        texts.addAll(TestData.brown());
        texts.addAll(TestData.nlpCorpus());
        long tokens = 0;
        for (String text : texts) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            int[] unitOfByte = new int[utf8.length];     // the first unit of the code point each byte belongs to
            int[] endOfByte = new int[utf8.length];      // the unit after that code point
            for (int u = 0, b = 0; u < text.length(); ) {
                int cp = text.codePointAt(u), n = Character.charCount(cp);
                int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
                for (int k = 0; k < len; k++) {
                    unitOfByte[b + k] = u;
                    endOfByte[b + k] = u + n;
                }
                b += len;
                u += n;
            }
            Encoding e = t.encodeWithOffsets(text, false);
            int at = 0;
            for (int i = 0; i < e.length(); i++) {
                String token = t.idToToken(e.ids()[i]);
                byte[] bytes;
                if (added.contains(token)) {
                    bytes = token.getBytes(StandardCharsets.UTF_8);
                } else {
                    bytes = new byte[token.length()];
                    for (int k = 0; k < token.length(); k++) bytes[k] = (byte) ByteLevelAlphabet.byteOf(token.charAt(k));
                }
                if (at + bytes.length > utf8.length || !Arrays.equals(bytes, 0, bytes.length, utf8, at, at + bytes.length)) {
                    fail(name + ": token " + i + " of " + Comparison.quote(text) + " does not spell the next bytes of the text");
                }
                String expected = unitOfByte[at] + "-" + endOfByte[at + bytes.length - 1];
                String actual = e.starts()[i] + "-" + e.ends()[i];
                if (!expected.equals(actual)) {
                    fail(name + ": token " + i + " (" + Comparison.quote(token) + ") of " + Comparison.quote(text)
                            + " holds bytes " + at + ".." + (at + bytes.length) + ", the characters " + expected + ", but has the span " + actual);
                }
                at += bytes.length;
            }
            assertEquals(utf8.length, at, name + ": the tokens of " + Comparison.quote(text) + " do not spell all of it");
            tokens += e.length();
        }
        System.out.println(name + ": " + texts.size() + " texts, " + tokens + " tokens, each span the characters of its bytes");
    }
}
