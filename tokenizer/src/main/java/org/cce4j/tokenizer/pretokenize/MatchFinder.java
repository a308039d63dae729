package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.text.IntList;

import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the non-overlapping matches of a Split pattern, as (start, end) pairs in UTF-16 units.
 * Three kinds: a translated Oniguruma regex, a fast hand-written scanner for the GPT-2 / Llama 3
 * family of patterns (see {@link WordScanner}), and a per-character predicate where every matching
 * code point is its own match (the Rust library's {@code Fn(char) -> bool} patterns).
 */
public interface MatchFinder {
    void find(String s, IntList out);

    static MatchFinder regex(String onigPattern) {
        WordScanner fast = WordScanner.forPattern(onigPattern);
        if (fast != null) return fast;
        return javaRegex(onigPattern);
    }

    static MatchFinder javaRegex(String onigPattern) {
        Pattern p = OnigRegex.compile(onigPattern);
        return (s, out) -> {
            Matcher m = p.matcher(s);
            int lastEnd = -1;
            while (m.find()) {
                // Oniguruma's iterator (like Rust's) never reports an empty match right where the previous one ended
                if (m.start() == m.end() && m.start() == lastEnd) continue;
                out.add(m.start());
                out.add(m.end());
                lastEnd = m.end();
            }
        };
    }

    static MatchFinder literal(String literal) {
        if (literal.isEmpty()) return javaRegex("");
        return (s, out) -> {
            int from = 0;
            int at;
            while ((at = s.indexOf(literal, from)) >= 0) {
                out.add(at);
                out.add(at + literal.length());
                from = at + literal.length();
            }
        };
    }

    static MatchFinder eachCodePoint(IntPredicate test) {
        return (s, out) -> {
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                int n = Character.charCount(cp);
                if (test.test(cp)) {
                    out.add(i);
                    out.add(i + n);
                }
                i += n;
            }
        };
    }
}
