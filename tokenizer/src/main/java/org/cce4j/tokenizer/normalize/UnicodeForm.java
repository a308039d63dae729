package org.cce4j.tokenizer.normalize;

import org.cce4j.tokenizer.text.IntList;
import org.cce4j.tokenizer.text.NormalizedString;

import java.text.Normalizer.Form;

/**
 * Unicode normalization with the Rust library's alignment. The text is always the JDK's
 * normalization of the whole string; the alignment reproduces what the Rust library's normalizer
 * (the unicode-normalization-alignments crate feeding {@code NormalizedString::transform}) gives,
 * because token offsets are read from it:
 *
 * <ul>
 *   <li>every code point decomposes into pieces, the first tagged "replaces a character" (0), the
 *       others "inserted" (1); canonical reordering moves pieces with their tags;</li>
 *   <li>a composed character made of pieces of which {@code t0} were tagged 0 has the change
 *       {@code 1 - t0}: it replaces one input character and removes {@code t0 - 1} more;</li>
 *   <li>the changes are then walked over the input positionally: a character with change
 *       {@code c <= 0} takes the span of the next input code point and consumes {@code 1 - c} of
 *       them; an inserted one (c = 1) takes the span of the code point just consumed.</li>
 * </ul>
 *
 * So NFC's "e + U+0301 → é" is aligned to the "e" alone, as in the Rust library. Which pieces a
 * composed character took is recovered by matching its canonical decomposition against the
 * decomposed sequence (a stable sort keeps equal code points in order, so the first unused one is
 * the right one). Text that is already normalized keeps its alignment unchanged (every change is 0).
 */
final class UnicodeForm {
    private UnicodeForm() {}

    static NormalizedString apply(NormalizedString s, Form form) {
        String t = s.text();
        if (java.text.Normalizer.isNormalized(t, form)) return s;
        boolean compatible = form == Form.NFKC || form == Form.NFKD;
        Form decomposition = compatible ? Form.NFKD : Form.NFD;

        // the pieces of each input code point, in input order, with their tags
        IntList inputPieces = new IntList(t.length() + 8);
        IntList inputTags = new IntList(t.length() + 8);
        for (int i = 0; i < t.length(); ) {
            int cp = t.codePointAt(i);
            int n = Character.charCount(cp);
            String d = java.text.Normalizer.normalize(t.substring(i, i + n), decomposition);
            int first = inputPieces.size();
            d.codePoints().forEach(c -> {
                inputTags.add(inputPieces.size() == first ? 0 : 1);
                inputPieces.add(c);
            });
            i += n;
        }
        // the canonically reordered sequence, each piece with the tag it carried
        int[] pieces = java.text.Normalizer.normalize(t, decomposition).codePoints().toArray();
        int[] tags = new int[pieces.length];
        boolean[] used = new boolean[inputPieces.size()];
        int lowest = 0;
        for (int k = 0; k < pieces.length; k++) {
            int j = firstUnused(inputPieces, used, lowest, pieces[k]);
            if (j < 0) return coarse(s, java.text.Normalizer.normalize(t, form));
            used[j] = true;
            tags[k] = inputTags.get(j);
            while (lowest < used.length && used[lowest]) lowest++;
        }

        String out;
        IntList outCodePoints = new IntList(pieces.length);
        IntList changes = new IntList(pieces.length);
        if (form == Form.NFD || form == Form.NFKD) {
            out = null;
            for (int k = 0; k < pieces.length; k++) {
                outCodePoints.add(pieces[k]);
                changes.add(tags[k]);
            }
        } else {
            out = java.text.Normalizer.normalize(t, form);
            IntList piecesList = new IntList(pieces.length);
            piecesList.addAll(pieces);
            boolean[] taken = new boolean[pieces.length];
            int low = 0;
            for (int i = 0; i < out.length(); ) {
                int cp = out.codePointAt(i);
                i += Character.charCount(cp);
                int[] parts = java.text.Normalizer.normalize(new String(Character.toChars(cp)), Form.NFD).codePoints().toArray();
                int first = firstUnused(piecesList, taken, low, parts[0]);
                if (first < 0) return coarse(s, out);
                taken[first] = true;
                int replaced = tags[first] == 0 ? 1 : 0;
                for (int p = 1; p < parts.length; p++) {
                    int j = firstUnused(piecesList, taken, first + 1, parts[p]);
                    if (j < 0) return coarse(s, out);
                    taken[j] = true;
                    if (tags[j] == 0) replaced++;
                }
                while (low < taken.length && taken[low]) low++;
                outCodePoints.add(cp);
                changes.add(1 - replaced);
            }
        }
        return walk(s, outCodePoints, changes, out == null ? pieces.length + 8 : out.length());
    }

    private static int firstUnused(IntList values, boolean[] used, int from, int value) {
        for (int j = from; j < values.size(); j++) if (!used[j] && values.get(j) == value) return j;
        return -1;
    }

    /** Assigns each output code point the span of the input code points its change says it replaces. */
    private static NormalizedString walk(NormalizedString s, IntList codePoints, IntList changes, int capacity) {
        String t = s.text();
        NormalizedString.Builder b = new NormalizedString.Builder(capacity);
        int at = 0;                                   // next input unit
        int prevStart = s.originalStart(), prevEnd = s.originalStart();
        for (int k = 0; k < codePoints.size(); k++) {
            int change = changes.get(k);
            int os, oe;
            if (change > 0 || at >= t.length()) {
                os = prevStart;
                oe = prevEnd;
            } else {
                int n = Character.charCount(t.codePointAt(at));
                os = s.originalStart(at);
                oe = s.originalEnd(at + n - 1);
                for (int consumed = 0; consumed < 1 - change && at < t.length(); consumed++) {
                    int m = Character.charCount(t.codePointAt(at));
                    prevStart = s.originalStart(at);
                    prevEnd = s.originalEnd(at + m - 1);
                    at += m;
                }
            }
            Normalizers.appendCodePoint(b, codePoints.get(k), os, oe);
        }
        return b.build(s.originalStart());
    }

    /** Every unit aligned to the whole piece: only if the decomposition could not be traced. */
    private static NormalizedString coarse(NormalizedString s, String normalized) {
        String t = s.text();
        NormalizedString.Builder b = new NormalizedString.Builder(normalized.length());
        b.append(normalized, s.originalStart(), t.isEmpty() ? s.originalStart() : s.originalEnd(t.length() - 1));
        return b.build(s.originalStart());
    }
}
