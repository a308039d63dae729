package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.text.Piece;

import java.util.ArrayList;
import java.util.List;

/**
 * A tokenizer.json pre-tokenizer: splits each piece that is not already an added token into
 * smaller pieces (words), or transforms it. Pieces with fixed ids pass through untouched.
 */
public interface PreTokenizer {
    /** Splits one non-fixed piece, appending the results to {@code out}. */
    void split(Piece piece, List<Piece> out);

    default List<Piece> apply(List<Piece> pieces) {
        List<Piece> out = new ArrayList<>(pieces.size() * 4 + 4);
        for (Piece p : pieces) {
            if (p.isFixed()) out.add(p);
            else split(p, out);
        }
        return out;
    }
}
