package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.TokenizerException;
import org.cce4j.tokenizer.text.IntList;
import org.cce4j.tokenizer.text.NormalizedString;
import org.cce4j.tokenizer.text.Piece;

import java.util.List;

/**
 * What a split does with the pattern's matches (the Rust library's SplitDelimiterBehavior), and
 * the one routine every splitting pre-tokenizer goes through: matches become a list of
 * (span, is-match) covering the text, the behavior folds it, empty pieces are dropped.
 */
public enum SplitBehavior {
    REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

    public static SplitBehavior parse(String name) {
        return switch (name) {
            case "Removed" -> REMOVED;
            case "Isolated" -> ISOLATED;
            case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> MERGED_WITH_NEXT;
            case "Contiguous" -> CONTIGUOUS;
            default -> throw new TokenizerException("unsupported split behavior '" + name + "' in tokenizer.json");
        };
    }

    /** Splits one piece and appends the non-empty results to {@code out}. */
    public void split(Piece piece, MatchFinder finder, boolean invert, List<Piece> out) {
        NormalizedString ns = piece.visibleText();
        String s = ns.text();
        int n = s.length();
        IntList m = new IntList();
        finder.find(s, m);
        // (start, end, isMatch) triples covering [0, n)
        IntList spans = new IntList(m.size() * 3 / 2 + 6);
        int prev = 0;
        if (n == 0) {
            spans.add(0); spans.add(0); spans.add(invert ? 1 : 0);
        } else {
            for (int k = 0; k < m.size(); k += 2) {
                int a = m.get(k), b = m.get(k + 1);
                if (prev != a) { spans.add(prev); spans.add(a); spans.add(invert ? 1 : 0); }
                spans.add(a); spans.add(b); spans.add(invert ? 0 : 1);
                prev = b;
            }
            if (prev != n) { spans.add(prev); spans.add(n); spans.add(invert ? 1 : 0); }
        }
        IntList kept = fold(spans);
        for (int k = 0; k < kept.size(); k += 2) {
            int a = kept.get(k), b = kept.get(k + 1);
            if (b > a) out.add(Piece.of(ns.slice(a, b)));
        }
    }

    /** Applies the behavior to (start, end, isMatch) triples; returns the kept (start, end) pairs. */
    private IntList fold(IntList t) {
        IntList out = new IntList(t.size());
        int count = t.size() / 3;
        switch (this) {
            case ISOLATED -> {
                for (int k = 0; k < count; k++) { out.add(t.get(3 * k)); out.add(t.get(3 * k + 1)); }
            }
            case REMOVED -> {
                for (int k = 0; k < count; k++) {
                    if (t.get(3 * k + 2) == 0) { out.add(t.get(3 * k)); out.add(t.get(3 * k + 1)); }
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                boolean previousMatch = false;
                for (int k = 0; k < count; k++) {
                    boolean isMatch = t.get(3 * k + 2) == 1;
                    if (isMatch && !previousMatch && out.size() > 0) out.set(out.size() - 1, t.get(3 * k + 1));
                    else { out.add(t.get(3 * k)); out.add(t.get(3 * k + 1)); }
                    previousMatch = isMatch;
                }
            }
            case MERGED_WITH_NEXT -> {
                // folded from the right, then reversed back
                IntList rev = new IntList(t.size());
                boolean previousMatch = false;
                for (int k = count - 1; k >= 0; k--) {
                    boolean isMatch = t.get(3 * k + 2) == 1;
                    if (isMatch && !previousMatch && rev.size() > 0) rev.set(rev.size() - 2, t.get(3 * k));
                    else { rev.add(t.get(3 * k)); rev.add(t.get(3 * k + 1)); }
                    previousMatch = isMatch;
                }
                for (int k = rev.size() - 2; k >= 0; k -= 2) { out.add(rev.get(k)); out.add(rev.get(k + 1)); }
            }
            case CONTIGUOUS -> {
                boolean previousMatch = false;
                for (int k = 0; k < count; k++) {
                    boolean isMatch = t.get(3 * k + 2) == 1;
                    if (isMatch == previousMatch && out.size() > 0) out.set(out.size() - 1, t.get(3 * k + 1));
                    else { out.add(t.get(3 * k)); out.add(t.get(3 * k + 1)); }
                    previousMatch = isMatch;
                }
            }
        }
        return out;
    }
}
