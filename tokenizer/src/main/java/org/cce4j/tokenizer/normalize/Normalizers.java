package org.cce4j.tokenizer.normalize;

import org.cce4j.tokenizer.pretokenize.MatchFinder;
import org.cce4j.tokenizer.text.ByteLevelAlphabet;
import org.cce4j.tokenizer.text.CharClasses;
import org.cce4j.tokenizer.text.IntList;
import org.cce4j.tokenizer.text.NormalizedString;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * The normalizers of tokenizer.json, each a few lines that follow the Rust library's
 * definition (which characters, which order, how the result aligns with the input).
 */
public final class Normalizers {
    private Normalizers() {}

    public record Sequence(List<Normalizer> steps) implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            for (Normalizer n : steps) s = n.normalize(s);
            return s;
        }
    }

    /** NFC, NFD, NFKC or NFKD (see {@link UnicodeForm}). */
    public record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            return UnicodeForm.apply(s, form);
        }
    }

    /** Rust's {@code char::to_lowercase} for each code point: no context, no locale. */
    public record Lowercase() implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            return mapCodePoints(s, (cp, b, os, oe) -> {
                if (cp == 0x130) b.append("i\u0307", os, oe);  // the one unconditional multi-char lower-case mapping
                else appendCodePoint(b, Character.toLowerCase(cp), os, oe);
            });
        }
    }

    /** Removes whitespace ({@code char::is_whitespace}) at the left and/or right end. */
    public record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            String t = s.text();
            int a = 0, b = t.length();
            if (left) while (a < b && CharClasses.isWhitespace(t.charAt(a))) a++;
            if (right) while (b > a && CharClasses.isWhitespace(t.charAt(b - 1))) b--;
            return s.slice(a, b);
        }
    }

    /** Removes combining marks (usually after NFD). */
    public record StripAccents() implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            return filter(s, cp -> !CharClasses.isMark(cp));
        }
    }

    /**
     * Replaces every match of a literal or Oniguruma pattern by {@code content}. As in the Rust
     * library, the match is removed and the content inserted after it, so the content takes the
     * span of the match's last code point (of the code point before an empty match, or the
     * piece's start at position 0).
     */
    public record Replace(MatchFinder pattern, String content) implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            IntList m = new IntList();
            pattern.find(s.text(), m);
            if (m.size() == 0) return s;
            NormalizedString.Builder b = new NormalizedString.Builder(s.length() + 16);
            int prev = 0;
            for (int k = 0; k < m.size(); k += 2) {
                int a = m.get(k), e = m.get(k + 1);
                b.appendFrom(s, prev, a);
                if (!content.isEmpty()) {
                    if (e > 0) b.append(content, s.originalStart(s.codePointBefore(e)), s.originalEnd(e - 1));
                    else b.append(content, s.originalStart(), s.originalStart());
                }
                prev = e;
            }
            b.appendFrom(s, prev, s.length());
            return b.build(s.originalStart());
        }
    }

    /** Puts {@code prepend} in front of non-empty text. */
    public record Prepend(String prepend) implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            return s.prepend(prepend);
        }
    }

    /** Each UTF-8 byte as its GPT-2 byte-level character. */
    public record ByteLevel() implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            return mapCodePoints(s, (cp, b, os, oe) -> {
                for (char c : ByteLevelAlphabet.encode(new String(Character.toChars(cp))).toCharArray()) b.append(c, os, oe);
            });
        }
    }

    /** BERT's cleanup: control characters out, whitespace to spaces, CJK isolated, accents, lower case. */
    public record Bert(boolean cleanText, boolean handleChineseChars, Boolean stripAccents, boolean lowercase)
            implements Normalizer {
        @Override
        public NormalizedString normalize(NormalizedString s) {
            if (cleanText) {
                s = mapCodePoints(s, (cp, b, os, oe) -> {
                    if (cp == 0 || cp == 0xFFFD || isBertControl(cp)) return;
                    if (cp == '\t' || cp == '\n' || cp == '\r' || CharClasses.isWhitespace(cp)) b.append(' ', os, oe);
                    else appendCodePoint(b, cp, os, oe);
                });
            }
            if (handleChineseChars) {
                s = mapCodePoints(s, (cp, b, os, oe) -> {
                    if (isChinese(cp)) {
                        b.append(' ', os, oe);
                        appendCodePoint(b, cp, os, oe);
                        b.append(' ', os, oe);
                    } else appendCodePoint(b, cp, os, oe);
                });
            }
            if (stripAccents != null ? stripAccents : lowercase) {
                s = UnicodeForm.apply(s, java.text.Normalizer.Form.NFD);
                s = filter(s, cp -> Character.getType(cp) != Character.NON_SPACING_MARK);
            }
            if (lowercase) s = new Lowercase().normalize(s);
            return s;
        }

        private static boolean isBertControl(int cp) {
            if (cp == '\t' || cp == '\n' || cp == '\r') return false;
            int t = Character.getType(cp);
            return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED || t == Character.PRIVATE_USE;
        }

        private static boolean isChinese(int c) {
            return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                    || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
                    || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
        }
    }

    interface CodePointMapper {
        void map(int cp, NormalizedString.Builder b, int origStart, int origEnd);
    }

    static NormalizedString mapCodePoints(NormalizedString s, CodePointMapper f) {
        String t = s.text();
        NormalizedString.Builder b = new NormalizedString.Builder(t.length() + 8);
        for (int i = 0; i < t.length(); ) {
            int cp = t.codePointAt(i);
            int n = Character.charCount(cp);
            f.map(cp, b, s.originalStart(i), s.originalEnd(i + n - 1));
            i += n;
        }
        return b.build(s.originalStart());
    }

    static NormalizedString filter(NormalizedString s, IntPredicate keep) {
        return mapCodePoints(s, (cp, b, os, oe) -> {
            if (keep.test(cp)) appendCodePoint(b, cp, os, oe);
        });
    }

    static void appendCodePoint(NormalizedString.Builder b, int cp, int os, int oe) {
        if (Character.isBmpCodePoint(cp)) b.append((char) cp, os, oe);
        else {
            b.append(Character.highSurrogate(cp), os, oe);
            b.append(Character.lowSurrogate(cp), os, oe);
        }
    }
}
