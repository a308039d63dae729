package org.cce4j.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/** Compares our tokenizer with the reference on texts, collecting the first few differences. */
final class Comparison {
    private Comparison() {}

    static void compare(String name, Tokenizer ours, Reference ref, List<String> texts) {
        List<String> problems = new ArrayList<>();
        int compared = 0;
        for (String text : texts) {
            for (boolean special : new boolean[] {false, true}) {
                int[] expected = ref.encode(text, special);
                int[] actual = ours.encode(text, special);
                compared++;
                if (!Arrays.equals(expected, actual)) {
                    problems.add("encode(special=" + special + ") of " + quote(text) + "\n   expected " + Arrays.toString(expected)
                            + "\n   actual   " + Arrays.toString(actual));
                    continue;
                }
                for (boolean skip : new boolean[] {false, true}) {
                    String e = ref.decode(expected, skip);
                    String a = ours.decode(expected, skip);
                    if (!e.equals(a)) problems.add("decode(skip=" + skip + ") of " + quote(text) + "\n   expected " + quote(e) + "\n   actual   " + quote(a));
                }
            }
            if (problems.size() > 8) break;
        }
        if (!problems.isEmpty()) {
            fail(name + ": " + problems.size() + " differences (of " + compared + " encodings so far):\n" + String.join("\n", problems));
        }
        System.out.println(name + ": " + compared + " encodings and their decodings identical");
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
