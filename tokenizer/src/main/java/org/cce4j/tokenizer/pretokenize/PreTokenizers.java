package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.text.CharClasses;
import org.cce4j.tokenizer.text.NormalizedString;
import org.cce4j.tokenizer.text.Piece;

import java.util.List;

/** The pre-tokenizers of tokenizer.json, each following the Rust library's definition. */
public final class PreTokenizers {
    private PreTokenizers() {}

    public record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            List<Piece> pieces = List.of(piece);
            for (PreTokenizer p : steps) pieces = p.apply(pieces);
            out.addAll(pieces);
        }

        @Override
        public List<Piece> apply(List<Piece> pieces) {
            for (PreTokenizer p : steps) pieces = p.apply(pieces);
            return pieces;
        }
    }

    /** A pattern split with one of the five behaviors, optionally inverted. */
    public record Split(MatchFinder pattern, SplitBehavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            behavior.split(piece, pattern, invert, out);
        }
    }

    /**
     * GPT-2's byte-level step: optionally a space in front of each piece, optionally the GPT-2
     * split, then the bytes of each piece as the model's alphabet (kept lazy, see {@link Piece}).
     */
    public record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        private static final MatchFinder GPT2 = WordScanner.forPattern(WordScanner.GPT2);

        @Override
        public void split(Piece piece, List<Piece> out) {
            NormalizedString ns = piece.visibleText();
            if (addPrefixSpace && !ns.text().startsWith(" ")) ns = ns.prepend(" ");
            if (!useRegex) {
                out.add(new Piece(ns, null, true));
                return;
            }
            int from = out.size();
            SplitBehavior.ISOLATED.split(Piece.of(ns), GPT2, false, out);
            for (int i = from; i < out.size(); i++) out.set(i, new Piece(out.get(i).text(), null, true));
        }
    }

    /**
     * SentencePiece's word boundaries: spaces become the replacement character (U+2581), which is
     * put in front of the piece (always, only at the start of the input, or never), and the piece
     * is split before each replacement character.
     */
    public record Metaspace(char replacement, String prependScheme, boolean splitWords) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            NormalizedString ns = piece.visibleText().replaceChar(' ', String.valueOf(replacement));
            boolean startsWith = !ns.isEmpty() && ns.text().charAt(0) == replacement;
            boolean prepend = switch (prependScheme) {
                case "always" -> !startsWith;
                case "first" -> !startsWith && ns.originalStart() == 0;
                default -> false;
            };
            if (prepend) ns = ns.prepend(String.valueOf(replacement));
            if (splitWords) {
                SplitBehavior.MERGED_WITH_NEXT.split(Piece.of(ns), MatchFinder.eachCodePoint(c -> c == replacement), false, out);
            } else if (!ns.isEmpty()) {
                out.add(Piece.of(ns));
            }
        }
    }

    /** {@code \w+|[^\w\s]+}, everything else removed. */
    public record Whitespace() implements PreTokenizer {
        private static final MatchFinder WORDS = (s, out) -> {
            int n = s.length();
            for (int i = 0; i < n; ) {
                int cp = s.codePointAt(i);
                if (CharClasses.isWhitespace(cp)) { i += Character.charCount(cp); continue; }
                boolean word = CharClasses.isWordChar(cp);
                int j = i;
                while (j < n) {
                    int c = s.codePointAt(j);
                    if (CharClasses.isWhitespace(c) || CharClasses.isWordChar(c) != word) break;
                    j += Character.charCount(c);
                }
                out.add(i);
                out.add(j);
                i = j;
            }
        };

        @Override
        public void split(Piece piece, List<Piece> out) {
            SplitBehavior.REMOVED.split(piece, WORDS, true, out);
        }
    }

    /** Splits on whitespace, which is removed. */
    public record WhitespaceSplit() implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            SplitBehavior.REMOVED.split(piece, MatchFinder.eachCodePoint(CharClasses::isWhitespace), false, out);
        }
    }

    /** Each punctuation character (ASCII or Unicode P*) with the given behavior. */
    public record Punctuation(SplitBehavior behavior) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            behavior.split(piece, MatchFinder.eachCodePoint(CharClasses::isPunctuation), false, out);
        }
    }

    /** Numbers apart from the rest: each digit alone, or runs of digits. */
    public record Digits(boolean individualDigits) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            (individualDigits ? SplitBehavior.ISOLATED : SplitBehavior.CONTIGUOUS)
                    .split(piece, MatchFinder.eachCodePoint(CharClasses::isNumber), false, out);
        }
    }

    /** BERT's: whitespace removed, then each punctuation character isolated. */
    public record Bert() implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            List<Piece> words = new java.util.ArrayList<>();
            new WhitespaceSplit().split(piece, words);
            for (Piece w : words) new Punctuation(SplitBehavior.ISOLATED).split(w, out);
        }
    }

    /** Splits on one delimiter character, which is removed. */
    public record CharDelimiterSplit(int delimiter) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            SplitBehavior.REMOVED.split(piece, MatchFinder.eachCodePoint(c -> c == delimiter), false, out);
        }
    }
}
