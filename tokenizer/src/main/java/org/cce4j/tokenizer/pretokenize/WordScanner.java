package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.text.IntList;

import static org.cce4j.tokenizer.text.CharClasses.isLetter;
import static org.cce4j.tokenizer.text.CharClasses.isNumber;
import static org.cce4j.tokenizer.text.CharClasses.isSpace;

/**
 * A hand-written matcher for the split patterns of GPT-2, Llama 3 / cl100k and Qwen 2, which
 * tokenizer.json gives as regexes; it is several times faster than running them through
 * java.util.regex. It reproduces the regex exactly (leftmost-first alternation with
 * backtracking), and only for the exact pattern strings recognized by {@link #forPattern};
 * any other pattern goes to the translated regex. The tests compare the two on every corpus.
 *
 * <pre>
 *   GPT-2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   Llama 3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   Qwen 2  as Llama 3 with \p{N} for \p{N}{1,3}
 * </pre>
 * Every position starts a match in these patterns, so the matches tile the text.
 */
public final class WordScanner implements MatchFinder {
    public static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    public static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    public static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private final boolean llama;   // Llama 3 family rules (else GPT-2)
    private final int maxDigits;   // Llama family: digits per match

    private WordScanner(boolean llama, int maxDigits) {
        this.llama = llama;
        this.maxDigits = maxDigits;
    }

    /** The scanner for a pattern string, or null when the pattern is not one it reproduces. */
    public static WordScanner forPattern(String pattern) {
        if (GPT2.equals(pattern)) return new WordScanner(false, 0);
        if (LLAMA3.equals(pattern)) return new WordScanner(true, 3);
        if (QWEN2.equals(pattern)) return new WordScanner(true, 1);
        return null;
    }

    @Override
    public void find(String s, IntList out) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            int end = matchAt(s, i, n);
            out.add(i);
            out.add(end);
            i = end;
        }
    }

    private int matchAt(String s, int i, int n) {
        int cp = s.codePointAt(i);
        int next = i + Character.charCount(cp);
        int cp2 = next < n ? s.codePointAt(next) : -1;
        if (cp == '\'' && cp2 >= 0) {
            int c = contraction(s, next, n);
            if (c > 0) return c;
        }
        if (llama) {
            if (isLetter(cp)) return letters(s, next, n);
            if (cp != '\r' && cp != '\n' && !isNumber(cp) && cp2 >= 0 && isLetter(cp2)) {
                return letters(s, next + Character.charCount(cp2), n);
            }
            if (isNumber(cp)) {
                int j = next;
                for (int k = 1; k < maxDigits && j < n; k++) {
                    int d = s.codePointAt(j);
                    if (!isNumber(d)) break;
                    j += Character.charCount(d);
                }
                return j;
            }
        } else {
            if (cp == ' ' && cp2 >= 0 && isLetter(cp2)) return letters(s, next + Character.charCount(cp2), n);
            if (isLetter(cp)) return letters(s, next, n);
            if (cp == ' ' && cp2 >= 0 && isNumber(cp2)) return numbers(s, next + Character.charCount(cp2), n);
            if (isNumber(cp)) return numbers(s, next, n);
        }
        int p = -1;
        if (cp == ' ' && cp2 >= 0 && isOther(cp2)) p = next + Character.charCount(cp2);
        else if (isOther(cp)) p = next;
        if (p >= 0) {
            while (p < n) {
                int c = s.codePointAt(p);
                if (!isOther(c)) break;
                p += Character.charCount(c);
            }
            if (llama) {
                while (p < n && (s.charAt(p) == '\r' || s.charAt(p) == '\n')) p++;
            }
            return p;
        }
        // cp is whitespace (every whitespace code point is in the BMP)
        int j = i;
        int lastNewline = -1;
        while (j < n && isSpace(s.charAt(j))) {
            char c = s.charAt(j);
            if (c == '\r' || c == '\n') lastNewline = j;
            j++;
        }
        if (j == i) return next;  // unreachable for these patterns; keeps the loop moving
        if (llama && lastNewline >= 0) return lastNewline + 1;   // \s*[\r\n]+
        if (j == n) return j;                                    // \s+(?!\S) at the end
        if (j - 1 > i) return j - 1;                             // \s+(?!\S) backing off one
        return j;                                                // \s+
    }

    /** After an apostrophe at {@code i - 1}: the end of a contraction, or -1. */
    private int contraction(String s, int i, int n) {
        char a = s.charAt(i);
        char b = i + 1 < n ? s.charAt(i + 1) : 0;
        if (is(a, 's')) return i + 1;
        if (is(a, 't')) return i + 1;
        if (is(a, 'r') && is(b, 'e')) return i + 2;
        if (is(a, 'v') && is(b, 'e')) return i + 2;
        if (is(a, 'm')) return i + 1;
        if (is(a, 'l') && is(b, 'l')) return i + 2;
        if (is(a, 'd')) return i + 1;
        return -1;
    }

    private boolean is(char c, char lower) {
        if (c == lower) return true;
        if (!llama) return false;
        // (?i:...) folds Unicode case: the upper-case letter, and U+017F LONG S for s
        return c == Character.toUpperCase(lower) || (lower == 's' && c == '\u017F');
    }

    private static int letters(String s, int j, int n) {
        while (j < n) {
            int c = s.codePointAt(j);
            if (!isLetter(c)) break;
            j += Character.charCount(c);
        }
        return j;
    }

    private static int numbers(String s, int j, int n) {
        while (j < n) {
            int c = s.codePointAt(j);
            if (!isNumber(c)) break;
            j += Character.charCount(c);
        }
        return j;
    }

    /** {@code [^\s\p{L}\p{N}]} */
    private static boolean isOther(int cp) {
        return !isSpace(cp) && !isLetter(cp) && !isNumber(cp);
    }
}
