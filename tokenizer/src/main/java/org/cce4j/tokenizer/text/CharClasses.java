package org.cce4j.tokenizer.text;

/**
 * The Unicode character classes the Hugging Face library tests, each defined the way its Rust
 * source defines it (Oniguruma's {@code \s}, Rust's {@code char::is_whitespace},
 * {@code is_alphanumeric}, the regex crate's {@code \w}, ...), so that every component agrees
 * with the reference on which code points belong.
 */
public final class CharClasses {
    private CharClasses() {}

    /** Oniguruma's Unicode {@code \s}: 0x09-0x0D, U+0085 and the Zs, Zl, Zp categories. */
    public static boolean isSpace(int cp) {
        if (cp < 128) return cp == ' ' || (cp >= 9 && cp <= 13);
        if (cp == 0x85) return true;
        int t = Character.getType(cp);
        return t == Character.SPACE_SEPARATOR || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR;
    }

    /** Rust's {@code char::is_whitespace} (the White_Space property; the same set as {@link #isSpace}). */
    public static boolean isWhitespace(int cp) {
        return isSpace(cp);
    }

    /** {@code \p{L}}: Lu, Ll, Lt, Lm, Lo. */
    public static boolean isLetter(int cp) {
        if (cp < 128) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
        return Character.isLetter(cp);
    }

    /** {@code \p{N}} and Rust's {@code char::is_numeric}: Nd, Nl, No. */
    public static boolean isNumber(int cp) {
        if (cp < 128) return cp >= '0' && cp <= '9';
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** {@code \p{M}}: Mn, Mc, Me. */
    public static boolean isMark(int cp) {
        int t = Character.getType(cp);
        return t == Character.NON_SPACING_MARK || t == Character.COMBINING_SPACING_MARK || t == Character.ENCLOSING_MARK;
    }

    /** Rust's {@code char::is_alphanumeric}: Alphabetic or Numeric. */
    public static boolean isAlphanumeric(int cp) {
        return Character.isAlphabetic(cp) || isNumber(cp);
    }

    /** The regex crate's Unicode {@code \w}: Alphabetic, M, Nd, Pc, Join_Control. */
    public static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp) || isMark(cp)) return true;
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.CONNECTOR_PUNCTUATION || cp == 0x200C || cp == 0x200D;
    }

    /** The Unicode P* categories (what the {@code unicode_categories} crate calls punctuation). */
    public static boolean isUnicodePunctuation(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /** The Punctuation pre-tokenizer's test: ASCII punctuation or a Unicode P* category. */
    public static boolean isPunctuation(int cp) {
        return isAsciiPunctuation(cp) || isUnicodePunctuation(cp);
    }

    public static boolean isAsciiPunctuation(int cp) {
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
    }

    /** Rust's {@code char::is_control}: the Cc category. */
    public static boolean isControl(int cp) {
        return Character.getType(cp) == Character.CONTROL;
    }
}
