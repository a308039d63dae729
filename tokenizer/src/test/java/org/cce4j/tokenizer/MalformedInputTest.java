package org.cce4j.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The defined outcomes for bad input (docs/tokenizer.md): malformed or unsupported tokenizer.json
 * is refused at load with a message naming the problem; text with a lone surrogate is refused;
 * an id that names no token is refused when decoding.
 */
class MalformedInputTest {
    private static final String MODEL = "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}";

    private static String refused(String json) {
        return assertThrows(TokenizerException.class, () -> Tokenizer.fromJson(json)).getMessage();
    }

    @Test
    void malformedAndUnsupportedFilesAreRefusedNamingTheProblem() {
        assertTrue(refused("{\"model\": ").contains("malformed JSON"));
        assertTrue(refused("[]").contains("not a JSON object"));
        assertTrue(refused("{}").contains("model"));
        assertTrue(refused("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}").contains("Unigram"));
        assertTrue(refused("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}").contains("WordPiece"));
        assertTrue(refused("{\"version\":\"2.0\"," + MODEL + "}").contains("version"));
        assertTrue(refused("{\"normalizer\":{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"\"}," + MODEL + "}").contains("Precompiled"));
        assertTrue(refused("{\"pre_tokenizer\":{\"type\":\"UnicodeScripts\"}," + MODEL + "}").contains("UnicodeScripts"));
        assertTrue(refused("{\"decoder\":{\"type\":\"CTC\"}," + MODEL + "}").contains("CTC"));
        assertTrue(refused("{\"post_processor\":{\"type\":\"Unknown\"}," + MODEL + "}").contains("Unknown"));
        assertTrue(refused("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"}," + MODEL + "}").contains("regex"));
        assertTrue(refused("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Sideways\"}," + MODEL + "}").contains("Sideways"));
        assertTrue(refused("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}").contains("'b'"));
        assertTrue(refused("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a a a\"]}}").contains("merges entry 1"));
        assertTrue(refused("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}").contains("'a'"));
        assertTrue(refused("{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                + "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{}}," + MODEL + "}").contains("<s>"));
    }

    @Test
    void loneSurrogatesAreRefusedAndPairsAccepted() {
        Tokenizer t = Tokenizer.fromJson("{" + MODEL + "}");
        for (String bad : List.of("\uD800", "a\uDC00b", "x\uD83D", "\uDE00\uD83D")) {
            TokenizerException e = assertThrows(TokenizerException.class, () -> t.encode(bad, false));
            assertTrue(e.getMessage().contains("lone surrogate"), e.getMessage());
        }
        assertEquals(List.of(2), java.util.Arrays.stream(t.encode("ab", false)).boxed().toList());
        t.encode("😀", false);   // a valid pair encodes (here to nothing: no such token and no unk)
    }

    @Test
    void idsThatNameNoTokenAreRefused() {
        Tokenizer t = Tokenizer.fromJson("{" + MODEL + "}");
        assertEquals("ab", t.decode(new int[] {2}, false).replace(" ", ""));
        assertTrue(assertThrows(TokenizerException.class, () -> t.decode(new int[] {0, 3}, false)).getMessage().contains("id 3"));
        assertThrows(TokenizerException.class, () -> t.decode(new int[] {-1}, false));
    }
}
