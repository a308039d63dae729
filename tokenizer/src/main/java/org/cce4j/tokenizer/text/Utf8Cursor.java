package org.cce4j.tokenizer.text;

/**
 * Maps byte offsets in the UTF-8 form of a string to its UTF-16 units, for queries that only move
 * forward (the tokens of a word, in order): each query walks on from where the previous one
 * stopped, so a whole word costs one pass and no array. The Rust library counts token offsets in
 * bytes; Java strings count units, and a token that covers part of a character is widened to the
 * whole character.
 */
public final class Utf8Cursor {
    private final String s;
    private int unit;       // a code point boundary
    private int byteStart;  // where the code point at `unit` starts in UTF-8

    public Utf8Cursor(String s) {
        this.s = s;
    }

    /** The first unit of the code point that holds byte {@code b} (the last code point if b is past the end). */
    public int unitOf(int b) {
        while (unit < s.length()) {
            int cp = s.codePointAt(unit);
            int next = byteStart + Utf8.length(cp);
            if (next > b || unit + Character.charCount(cp) == s.length()) break;
            byteStart = next;
            unit += Character.charCount(cp);
        }
        return unit;
    }

    /** The unit just after the code point that holds byte {@code b}. */
    public int endUnitOf(int b) {
        int u = unitOf(b);
        return u < s.length() ? u + Character.charCount(s.codePointAt(u)) : u;
    }
}
