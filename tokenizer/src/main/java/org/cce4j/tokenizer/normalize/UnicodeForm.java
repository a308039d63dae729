package org.cce4j.tokenizer.normalize;

import org.cce4j.tokenizer.text.NormalizedString;

import java.text.Normalizer.Form;

/**
 * Unicode normalization with alignment. The text the model sees is always the JDK's
 * normalization of the whole string; the alignment is found by normalizing segments that start
 * at each code point that is not a combining mark or a Hangul vowel/trailing jamo (where
 * composition cannot cross) and mapping every output unit to its segment's original span. If the
 * segments do not add up to the whole (a composition across such a boundary), every unit is
 * aligned to the whole piece.
 */
final class UnicodeForm {
    private UnicodeForm() {}

    static NormalizedString apply(NormalizedString s, Form form) {
        String t = s.text();
        if (java.text.Normalizer.isNormalized(t, form)) return s;
        String whole = java.text.Normalizer.normalize(t, form);
        NormalizedString.Builder b = new NormalizedString.Builder(whole.length());
        int segStart = 0;
        for (int i = 0; i <= t.length(); ) {
            int cp = i < t.length() ? t.codePointAt(i) : -1;
            if (i == t.length() || (i > segStart && startsSegment(cp))) {
                String seg = java.text.Normalizer.normalize(t.substring(segStart, i), form);
                b.append(seg, s.originalStart(segStart), s.originalEnd(i - 1));
                segStart = i;
            }
            if (i == t.length()) break;
            i += Character.charCount(cp);
        }
        if (b.length() == whole.length()) {
            NormalizedString built = b.build(s.originalStart());
            if (built.text().equals(whole)) return built;
        }
        NormalizedString.Builder coarse = new NormalizedString.Builder(whole.length());
        coarse.append(whole, s.originalStart(), t.isEmpty() ? s.originalStart() : s.originalEnd(t.length() - 1));
        return coarse.build(s.originalStart());
    }

    private static boolean startsSegment(int cp) {
        if (cp >= 0x1160 && cp <= 0x11FF) return false;   // Hangul medial vowels and final consonants
        if (cp >= 0xD7B0 && cp <= 0xD7FF) return false;
        int t = Character.getType(cp);
        return t != Character.NON_SPACING_MARK && t != Character.COMBINING_SPACING_MARK && t != Character.ENCLOSING_MARK;
    }
}
