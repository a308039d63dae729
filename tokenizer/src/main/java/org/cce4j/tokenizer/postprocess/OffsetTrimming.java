package org.cce4j.tokenizer.postprocess;

import org.cce4j.tokenizer.postprocess.PostProcessor.TokenSpans;
import org.cce4j.tokenizer.text.CharClasses;

/**
 * The Rust library's {@code process_offsets} (byte_level.rs): a token whose string starts or
 * ends with spaces ('Ġ' or Unicode whitespace) has its span shortened by as many characters,
 * except one leading space of the first token when {@code add_prefix_space} put it there. The
 * Rust library counts these characters in code points of the input; so do we (whitespace is
 * always one UTF-16 unit, but the span may start at a longer character).
 */
final class OffsetTrimming {
    private static final int SPACE_CHAR = 'Ġ';

    private OffsetTrimming() {}

    static void trim(TokenSpans t, boolean addPrefixSpace, String text) {
        for (int i = 0; i < t.ids().length; i++) {
            String token = t.tokens()[i];
            if (token == null || token.isEmpty()) continue;
            int leading = 0;
            for (int k = 0; k < token.length(); ) {
                int cp = token.codePointAt(k);
                if (cp != SPACE_CHAR && !CharClasses.isWhitespace(cp)) break;
                leading++;
                k += Character.charCount(cp);
            }
            int trailing = 0;
            for (int k = token.length(); k > 0; ) {
                int cp = token.codePointBefore(k);
                if (cp != SPACE_CHAR && !CharClasses.isWhitespace(cp)) break;
                trailing++;
                k -= Character.charCount(cp);
            }
            int start = t.starts()[i], end = t.ends()[i];
            if (leading > 0) {
                boolean first = i == 0 || start == 0;
                if (first && addPrefixSpace && leading == 1) leading = 0;
                t.starts()[i] = Math.min(forward(text, start, leading), end);
            }
            if (trailing > 0) {
                int back = backward(text, end, trailing);
                if (back >= 0) t.ends()[i] = Math.max(back, t.starts()[i]);
            }
        }
    }

    /** {@code count} code points on from {@code at} (units beyond the text count one each, as Rust's arithmetic would). */
    private static int forward(String text, int at, int count) {
        for (int k = 0; k < count; k++) at += at < text.length() ? Character.charCount(text.codePointAt(at)) : 1;
        return at;
    }

    /** {@code count} code points back from {@code at}, or -1 when fewer than that precede it. */
    private static int backward(String text, int at, int count) {
        for (int k = 0; k < count; k++) {
            if (at <= 0) return -1;
            at -= at <= text.length() ? Character.charCount(text.codePointBefore(at)) : 1;
        }
        return at;
    }
}
