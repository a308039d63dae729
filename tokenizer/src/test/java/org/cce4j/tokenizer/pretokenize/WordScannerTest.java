package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.TestDataAccess;
import org.cce4j.tokenizer.text.IntList;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The hand-written scanner gives the same matches as the translated regex for the three patterns
 * it covers, on the edge cases, the Brown sample, and random strings drawn from an alphabet of
 * the characters these patterns treat specially.
 */
class WordScannerTest {
    private static final String ALPHABET = "aZé中\u0301'sStTrReEvVmMlLdDſ 0123٣½\t\n\r\u00A0\u3000\u2028\u0085!?.,-_\"#😀👍🏽\u200B\u000B";

    @Test
    void scannerEqualsRegex() {
        List<String> texts = new ArrayList<>(TestDataAccess.edgeCases());
        Random rnd = new Random(42);
        for (int i = 0; i < 20000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = rnd.nextInt(12);
            for (int k = 0; k < len; k++) sb.appendCodePoint(ALPHABET.codePoints().toArray()[rnd.nextInt((int) ALPHABET.codePoints().count())]);
            texts.add(sb.toString());
        }
        try {
            texts.addAll(TestDataAccess.brown());
        } catch (org.opentest4j.TestAbortedException noCorpus) {
            // the random strings and edge cases still run
        }
        for (String pattern : List.of(WordScanner.GPT2, WordScanner.LLAMA3, WordScanner.QWEN2)) {
            MatchFinder fast = WordScanner.forPattern(pattern);
            assertNotNull(fast);
            MatchFinder regex = MatchFinder.javaRegex(pattern);
            for (String t : texts) {
                IntList a = new IntList(), b = new IntList();
                fast.find(t, a);
                regex.find(t, b);
                assertEquals(toList(b), toList(a), () -> "pattern " + pattern + " on " + t.codePoints().mapToObj(c -> String.format("U+%04X", c)).toList());
            }
        }
    }

    private static List<Integer> toList(IntList l) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) out.add(l.get(i));
        return out;
    }
}
