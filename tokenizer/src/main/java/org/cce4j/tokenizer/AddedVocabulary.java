package org.cce4j.tokenizer;

import org.cce4j.tokenizer.normalize.Normalizer;
import org.cce4j.tokenizer.text.CharClasses;
import org.cce4j.tokenizer.text.NormalizedString;
import org.cce4j.tokenizer.text.Piece;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The added tokens and how they cut the input before anything else runs, as the Rust library's
 * AddedVocabulary does: first the tokens that are not {@code normalized} are found in the raw
 * input, then each remaining piece is normalized and the {@code normalized} tokens are found in
 * it. Matching is leftmost-longest over all contents (a trie walk per position), then the
 * {@code single_word}, {@code lstrip} and {@code rstrip} rules adjust or discard each match.
 * Ids follow the Rust loader: a token already in the model keeps the model's id, a new one gets
 * the next id after the vocabulary.
 */
final class AddedVocabulary {
    private final List<AddedToken> tokens;                  // unique contents, in file order
    private final Map<String, AddedToken> byContent = new HashMap<>();
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    private final Set<String> specialContents = new HashSet<>();
    private final Trie raw;        // non-normalized tokens, matched in the input
    private final Trie normalized; // normalized tokens, matched in normalized text

    AddedVocabulary(List<AddedToken> fileTokens, java.util.function.Function<String, Integer> modelIds,
                    int modelVocabSize, Normalizer normalizer) {
        Map<String, AddedToken> unique = new LinkedHashMap<>();
        Integer maxAdded = null;
        for (AddedToken t : fileTokens) {
            if (t.content().isEmpty()) continue;
            AddedToken previous = unique.get(t.content());
            Integer id = previous != null ? Integer.valueOf(previous.id()) : modelIds.apply(t.content());
            if (id == null) {
                id = maxAdded == null ? modelVocabSize
                        : (maxAdded >= modelVocabSize || modelVocabSize == 0 ? maxAdded + 1 : modelVocabSize);
            }
            AddedToken resolved = new AddedToken(id, t.content(), t.special(), t.normalized(), t.lstrip(), t.rstrip(), t.singleWord());
            if (previous != null && previous.special()) resolved = withSpecial(resolved);
            unique.put(t.content(), resolved);
            maxAdded = maxAdded == null ? id : Math.max(maxAdded, id);
            if (t.special()) specialContents.add(t.content());
        }
        tokens = List.copyOf(unique.values());
        for (AddedToken t : tokens) {
            byContent.put(t.content(), t);
            byId.put(t.id(), t);
        }
        // the Rust library orders patterns special tokens first, then the others
        List<AddedToken> ordered = new ArrayList<>();
        for (AddedToken t : tokens) if (specialContents.contains(t.content())) ordered.add(t);
        for (AddedToken t : tokens) if (!specialContents.contains(t.content())) ordered.add(t);
        raw = new Trie();
        normalized = new Trie();
        for (AddedToken t : ordered) {
            if (t.normalized()) {
                String pattern = normalizer == null ? t.content() : normalizer.normalize(t.content());
                normalized.add(pattern, t);
            } else {
                raw.add(t.content(), t);
            }
        }
    }

    private static AddedToken withSpecial(AddedToken t) {
        return new AddedToken(t.id(), t.content(), true, t.normalized(), t.lstrip(), t.rstrip(), t.singleWord());
    }

    List<AddedToken> tokens() {
        return tokens;
    }

    AddedToken byContent(String content) {
        return byContent.get(content);
    }

    AddedToken byId(int id) {
        return byId.get(id);
    }

    boolean isSpecial(String content) {
        return specialContents.contains(content);
    }

    boolean isEmpty() {
        return tokens.isEmpty();
    }

    /** Splits the input into added tokens (fixed ids) and normalized pieces for the pre-tokenizer. */
    List<Piece> extractAndNormalize(String input, Normalizer normalizer) {
        List<Piece> first = new ArrayList<>();
        split(NormalizedString.identity(input, 0), raw, first);
        if (normalizer == null && normalized.isEmpty()) return first;
        List<Piece> out = new ArrayList<>(first.size() + 4);
        for (Piece p : first) {
            if (p.isFixed()) {
                out.add(p);
                continue;
            }
            NormalizedString ns = normalizer == null ? p.text() : normalizer.normalize(p.text());
            split(ns, normalized, out);
        }
        return out;
    }

    private void split(NormalizedString ns, Trie trie, List<Piece> out) {
        String s = ns.text();
        if (trie.isEmpty() || s.isEmpty()) {
            if (!s.isEmpty()) out.add(Piece.of(ns));
            return;
        }
        int startOffset = 0;
        int i = 0;
        int n = s.length();
        while (i < n) {
            Trie.Match m = trie.longestAt(s, i);
            if (m == null) {
                i++;
                continue;
            }
            int start = i, stop = m.end();
            i = stop;  // the matcher moves on past the raw match, whatever the rules below decide
            AddedToken t = m.token();
            if (t.singleWord()) {
                boolean startSpace = start == 0 || !CharClasses.isWordChar(s.codePointBefore(start));
                boolean stopSpace = stop == n || !CharClasses.isWordChar(s.codePointAt(stop));
                if (!startSpace || !stopSpace) continue;
            }
            if (t.lstrip()) {
                int j = start;
                while (j > 0 && CharClasses.isWhitespace(s.charAt(j - 1))) j--;
                start = Math.max(j, startOffset);
            }
            if (t.rstrip()) {
                while (stop < n && CharClasses.isWhitespace(s.charAt(stop))) stop++;
            }
            if (startOffset < start) out.add(Piece.of(ns.slice(startOffset, start)));
            out.add(new Piece(ns.slice(start, stop), new int[] {t.id()}, false));
            startOffset = stop;
        }
        if (startOffset != n) out.add(Piece.of(ns.slice(startOffset, n)));
    }

    /** A character trie over the added tokens' contents; the longest content starting at a position wins. */
    static final class Trie {
        record Match(int end, AddedToken token) {}

        private final class Node {
            final HashMap<Character, Node> next = new HashMap<>(4);
            AddedToken token;
        }

        private final Node root = new Node();
        private final java.util.BitSet firstChars = new java.util.BitSet(65536);
        private boolean empty = true;

        void add(String pattern, AddedToken token) {
            if (pattern.isEmpty()) return;
            Node node = root;
            for (int i = 0; i < pattern.length(); i++) node = node.next.computeIfAbsent(pattern.charAt(i), c -> new Node());
            if (node.token == null) node.token = token;  // the first pattern given wins a tie, as in Aho-Corasick
            firstChars.set(pattern.charAt(0));
            empty = false;
        }

        boolean isEmpty() {
            return empty;
        }

        Match longestAt(String s, int i) {
            if (!firstChars.get(s.charAt(i))) return null;
            Node node = root;
            Match best = null;
            for (int j = i; j < s.length(); j++) {
                node = node.next.get(s.charAt(j));
                if (node == null) break;
                if (node.token != null) best = new Match(j + 1, node.token);
            }
            return best;
        }
    }
}
