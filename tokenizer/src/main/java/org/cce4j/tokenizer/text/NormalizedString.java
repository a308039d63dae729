package org.cce4j.tokenizer.text;

/**
 * A piece of text after normalization, with the span of the original input each of its UTF-16
 * units came from (what Hugging Face calls the alignments). Most tokenizers never change the text
 * before pre-tokenization, so the common case stores no arrays at all: unit {@code i} came from
 * original unit {@code shift + i}.
 *
 * <pre>
 *   original  "héllo"            normalized (NFD) "he\u0301llo"
 *   start     0 1 1 2 3 4        (both units of é point back to original unit 1)
 * </pre>
 */
public final class NormalizedString {
    private final String text;
    private final int[] start;  // null: identity alignment shifted by `shift`
    private final int[] end;
    private final int shift;

    private NormalizedString(String text, int[] start, int[] end, int shift) {
        this.text = text;
        this.start = start;
        this.end = end;
        this.shift = shift;
    }

    /** Text that is its own original, starting at {@code shift} in the input. */
    public static NormalizedString identity(String text, int shift) {
        return new NormalizedString(text, null, null, shift);
    }

    public String text() {
        return text;
    }

    public int length() {
        return text.length();
    }

    public boolean isEmpty() {
        return text.isEmpty();
    }

    /** Start in the original input of normalized unit {@code i}. */
    public int originalStart(int i) {
        return start == null ? shift + i : start[i];
    }

    /** End in the original input of normalized unit {@code i}. */
    public int originalEnd(int i) {
        return end == null ? shift + i + 1 : end[i];
    }

    /** Where this piece starts in the original input (its first unit's origin). */
    public int originalStart() {
        if (text.isEmpty()) return shift;
        return originalStart(0);
    }

    public boolean isIdentity() {
        return start == null;
    }

    /** The units {@code [from, to)}, keeping their alignment. */
    public NormalizedString slice(int from, int to) {
        if (from == 0 && to == text.length()) return this;
        String sub = text.substring(from, to);
        if (start == null) return new NormalizedString(sub, null, null, shift + from);
        int[] s = java.util.Arrays.copyOfRange(start, from, to);
        int[] e = java.util.Arrays.copyOfRange(end, from, to);
        return new NormalizedString(sub, s, e, to > from ? s[0] : (from < start.length ? start[from] : shift));
    }

    /** Builds a transformed string one unit at a time, each with the original span it came from. */
    public static final class Builder {
        private final StringBuilder sb;
        private int[] start;
        private int[] end;

        public Builder(int capacity) {
            sb = new StringBuilder(capacity);
            start = new int[Math.max(capacity, 4)];
            end = new int[Math.max(capacity, 4)];
        }

        public Builder append(char c, int origStart, int origEnd) {
            int n = sb.length();
            if (n == start.length) {
                start = java.util.Arrays.copyOf(start, n * 2);
                end = java.util.Arrays.copyOf(end, n * 2);
            }
            sb.append(c);
            start[n] = origStart;
            end[n] = origEnd;
            return this;
        }

        public Builder append(CharSequence s, int origStart, int origEnd) {
            for (int i = 0; i < s.length(); i++) append(s.charAt(i), origStart, origEnd);
            return this;
        }

        /** Appends units {@code [from, to)} of {@code src} with their own alignment. */
        public Builder appendFrom(NormalizedString src, int from, int to) {
            for (int i = from; i < to; i++) append(src.text.charAt(i), src.originalStart(i), src.originalEnd(i));
            return this;
        }

        public int length() {
            return sb.length();
        }

        public NormalizedString build(int emptyShift) {
            int n = sb.length();
            return new NormalizedString(sb.toString(), java.util.Arrays.copyOf(start, n),
                    java.util.Arrays.copyOf(end, n), n > 0 ? start[0] : emptyShift);
        }
    }

    /** A builder for a transform of {@code this}; an empty result keeps this piece's origin. */
    public NormalizedString copyWith(String newText, int[] newStart, int[] newEnd) {
        return new NormalizedString(newText, newStart, newEnd, newText.isEmpty() ? originalStart() : newStart[0]);
    }

    /** {@code s} in front, aligned to the first code point's span (as the Rust library's prepend does). */
    public NormalizedString prepend(String s) {
        if (text.isEmpty()) return this;
        Builder b = new Builder(text.length() + s.length());
        b.append(s, originalStart(0), originalEnd(Character.charCount(text.codePointAt(0)) - 1));
        b.appendFrom(this, 0, text.length());
        return b.build(originalStart());
    }

    /** The first unit of the code point that ends just before unit {@code end}. */
    public int codePointBefore(int end) {
        return end - Character.charCount(text.codePointBefore(end));
    }

    /** Every {@code from} unit replaced by {@code to}, aligned to the replaced unit. */
    public NormalizedString replaceChar(char from, String to) {
        if (text.indexOf(from) < 0) return this;
        if (to.length() == 1 && start == null) return identityShape(text.replace(from, to.charAt(0)));
        Builder b = new Builder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == from) b.append(to, originalStart(i), originalEnd(i));
            else b.append(c, originalStart(i), originalEnd(i));
        }
        return b.build(originalStart());
    }

    /** Same alignment, new text of the same length. */
    public NormalizedString identityShape(String sameLength) {
        return new NormalizedString(sameLength, start, end, shift);
    }

    @Override
    public String toString() {
        return text;
    }
}
