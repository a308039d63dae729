package org.cce4j.tokenizer;

import ai.djl.huggingface.tokenizers.jni.CharSpan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Compares our tokenizer with the reference on texts, collecting the first few differences: the
 * ids of {@code encode}, the ids and offsets of {@code encodeWithOffsets} (the reference's offsets,
 * in code points, converted to UTF-16 indices; where it gives none, a post-processor's token, ours
 * must be (0, 0)), and the decoded text.
 */
final class Comparison {
    private Comparison() {}

    static void compare(String name, Tokenizer ours, Reference ref, List<String> texts) {
        List<String> problems = new ArrayList<>();
        int compared = 0;
        long tokens = 0;
        for (String text : texts) {
            for (boolean special : new boolean[] {false, true}) {
                Reference.Encoded expected = ref.encode(text, special);
                int[] actual = ours.encode(text, special);
                compared++;
                if (!Arrays.equals(expected.ids(), actual)) {
                    problems.add("encode(special=" + special + ") of " + quote(text) + "\n   expected " + Arrays.toString(expected.ids())
                            + "\n   actual   " + Arrays.toString(actual));
                    continue;
                }
                Encoding withOffsets = ours.encodeWithOffsets(text, special);
                tokens += withOffsets.length();
                if (!Arrays.equals(actual, withOffsets.ids())) {
                    problems.add("encodeWithOffsets(special=" + special + ") of " + quote(text) + " gives other ids than encode\n   encode            "
                            + Arrays.toString(actual) + "\n   encodeWithOffsets " + Arrays.toString(withOffsets.ids()));
                } else {
                    String d = spanDifference(ours, text, expected.codePointSpans(), withOffsets);
                    if (d != null) problems.add("offsets(special=" + special + ") of " + quote(text) + ": " + d);
                }
                for (boolean skip : new boolean[] {false, true}) {
                    String e = ref.decode(expected.ids(), skip);
                    String a = ours.decode(expected.ids(), skip);
                    if (!e.equals(a)) problems.add("decode(skip=" + skip + ") of " + quote(text) + "\n   expected " + quote(e) + "\n   actual   " + quote(a));
                }
            }
            if (problems.size() > 8) break;
        }
        if (!problems.isEmpty()) {
            fail(name + ": " + problems.size() + " differences (of " + compared + " encodings so far):\n" + String.join("\n", problems));
        }
        System.out.println(name + ": " + compared + " encodings (" + tokens + " tokens), their offsets and decodings identical");
    }

    /** The first token whose span differs from the reference's, described; null when all agree. */
    private static String spanDifference(Tokenizer ours, String text, CharSpan[] expected, Encoding actual) {
        int[] unitOfCodePoint = new int[text.codePointCount(0, text.length()) + 1];
        for (int u = 0, c = 0; u <= text.length(); c++) {
            unitOfCodePoint[c] = u;
            if (u == text.length()) break;
            u += Character.charCount(text.codePointAt(u));
        }
        if (expected.length != actual.length()) return expected.length + " spans expected, " + actual.length() + " given";
        for (int i = 0; i < expected.length; i++) {
            int es, ee;
            if (expected[i] == null) {
                es = 0;
                ee = 0;
            } else {
                int cs = expected[i].getStart(), ce = expected[i].getEnd();
                if (cs < 0 || ce < cs || ce >= unitOfCodePoint.length) {
                    return "token " + i + ": the reference's span (" + cs + ", " + ce + ") lies outside the text";
                }
                es = unitOfCodePoint[cs];
                ee = unitOfCodePoint[ce];
            }
            int as = actual.starts()[i], ae = actual.ends()[i];
            if (es != as || ee != ae) {
                int id = actual.ids()[i];
                return "token " + i + " (id " + id + ", " + quote(String.valueOf(ours.idToToken(id))) + ") expected [" + es + ", " + ee + ") "
                        + quote(text.substring(es, ee)) + ", actual [" + as + ", " + ae + ")"
                        + (as >= 0 && ae <= text.length() && as <= ae ? " " + quote(text.substring(as, ae)) : "");
            }
        }
        return null;
    }

    static String quote(String s) {
        String q = s.length() > 160 ? s.substring(0, 160) + "…(" + s.length() + " chars)" : s;
        StringBuilder sb = new StringBuilder("\"");
        q.codePoints().forEach(c -> {
            if (c < 32 || (c >= 0x7F && c < 0xA0) || c == 0x2028 || c == 0x2029 || c == 0x200B || c == 0xFEFF) sb.append(String.format("\\u%04X", c));
            else sb.appendCodePoint(c);
        });
        return sb.append('"').toString();
    }
}
