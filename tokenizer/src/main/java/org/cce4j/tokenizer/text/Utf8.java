package org.cce4j.tokenizer.text;

import org.cce4j.tokenizer.TokenizerException;

/**
 * UTF-8 helpers with Rust's semantics: {@link #decodeLossy} replaces each maximal invalid subpart
 * with one U+FFFD exactly as {@code String::from_utf8_lossy} does (decoders that assemble bytes
 * must produce the same string as the reference, replacement characters included).
 */
public final class Utf8 {
    private Utf8() {}

    /** The UTF-8 length of a code point. */
    public static int length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    /** The UTF-8 length of well-formed text. */
    public static int length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            n += length(cp);
            i += Character.charCount(cp);
        }
        return n;
    }

    /** Rust's {@code String::from_utf8_lossy}. */
    public static String decodeLossy(byte[] b, int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        int i = from;
        while (i < to) {
            int c = b[i] & 0xFF;
            if (c < 0x80) {
                sb.append((char) c);
                i++;
                continue;
            }
            int need;
            int lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) need = 1;
            else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                if (c == 0xE0) lo = 0xA0;
                else if (c == 0xED) hi = 0x9F;
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                if (c == 0xF0) lo = 0x90;
                else if (c == 0xF4) hi = 0x8F;
            } else {
                sb.append('\uFFFD');
                i++;
                continue;
            }
            int cp = c & (0x3F >> need);
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++, j++) {
                if (j >= to) { ok = false; break; }
                int d = b[j] & 0xFF;
                int l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xBF;
                if (d < l || d > h) { ok = false; break; }
                cp = (cp << 6) | (d & 0x3F);
            }
            if (ok) {
                sb.appendCodePoint(cp);
                i = j;
            } else {
                sb.append('\uFFFD');
                i = j;  // the maximal valid prefix of a sequence is replaced as one unit
            }
        }
        return sb.toString();
    }

    public static String decodeLossy(byte[] b) {
        return decodeLossy(b, 0, b.length);
    }

    /** True when the bytes are valid UTF-8. */
    public static boolean isValid(byte[] b, int from, int to) {
        String s = decodeLossy(b, from, to);
        return s.indexOf('\uFFFD') < 0 || java.util.Arrays.equals(s.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0,
                s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, b, from, to);
    }

    /** Refuses text with a lone surrogate: it has no UTF-8 form, so the reference cannot take it either. */
    public static void requireWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    throw new TokenizerException("text is not valid UTF-16: lone surrogate U+"
                            + Integer.toHexString(c).toUpperCase() + " at index " + i);
                }
            }
        }
    }
}
