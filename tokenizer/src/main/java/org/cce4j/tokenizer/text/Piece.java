package org.cce4j.tokenizer.text;

/**
 * One split of the input on its way to the model: its normalized text, the ids already decided
 * for it (an added token's id, so that later steps leave it alone) and whether a ByteLevel step
 * has turned it into bytes. The byte mapping is kept lazy: the model reads the UTF-8 bytes
 * directly, and only a later pre-tokenizer that needs the mapped characters materializes them.
 */
public record Piece(NormalizedString text, int[] ids, boolean byteLevel) {

    public static Piece of(NormalizedString text) {
        return new Piece(text, null, false);
    }

    public boolean isFixed() {
        return ids != null;
    }

    /** The text the model and later steps see: with ByteLevel applied, one character per UTF-8 byte. */
    public NormalizedString visibleText() {
        if (!byteLevel) return text;
        String s = text.text();
        NormalizedString.Builder b = new NormalizedString.Builder(s.length() * 2);
        byte[] buf = new byte[4];
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            int len = encodeUtf8(cp, buf);
            int os = text.originalStart(i), oe = text.originalEnd(i + n - 1);
            for (int k = 0; k < len; k++) b.append(ByteLevelAlphabet.charOf(buf[k]), os, oe);
            i += n;
        }
        return b.build(text.originalStart());
    }

    public Piece withText(NormalizedString t) {
        return new Piece(t, ids, false);
    }

    static int encodeUtf8(int cp, byte[] out) {
        if (cp < 0x80) { out[0] = (byte) cp; return 1; }
        if (cp < 0x800) { out[0] = (byte) (0xC0 | cp >> 6); out[1] = (byte) (0x80 | cp & 0x3F); return 2; }
        if (cp < 0x10000) {
            out[0] = (byte) (0xE0 | cp >> 12); out[1] = (byte) (0x80 | cp >> 6 & 0x3F); out[2] = (byte) (0x80 | cp & 0x3F);
            return 3;
        }
        out[0] = (byte) (0xF0 | cp >> 18); out[1] = (byte) (0x80 | cp >> 12 & 0x3F);
        out[2] = (byte) (0x80 | cp >> 6 & 0x3F); out[3] = (byte) (0x80 | cp & 0x3F);
        return 4;
    }
}
