package org.cce4j.tokenizer.model;

import org.cce4j.tokenizer.TokenizerException;
import org.cce4j.tokenizer.text.ByteLevelAlphabet;
import org.cce4j.tokenizer.text.IntList;
import org.cce4j.tokenizer.text.NormalizedString;
import org.cce4j.tokenizer.text.Piece;
import org.cce4j.tokenizer.text.Utf8;
import org.cce4j.tokenizer.text.Utf8Cursor;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of tokenizer.json, both flavours: byte-level (the word arrives as UTF-8 bytes,
 * each byte a symbol of the GPT-2 alphabet) and SentencePiece-style (each code point a symbol, with
 * {@code byte_fallback} to {@code <0xAB>} tokens and {@code unk_token} / {@code fuse_unk} for the
 * rest). Words are looked up in a cache first, as the Rust library does; results never depend on it.
 *
 * <p>For offsets ({@link #tokenizeWithSpans}) each symbol also carries its length in UTF-8 bytes of
 * the word, as the Rust library's {@code Word} does (a byte-fallback token is one byte, a fused
 * unknown token the bytes of every character it stands for), and the lengths are summed through
 * the merges; plain {@link #tokenize} carries none.
 */
public final class BpeModel {
    private static final int CACHE_MAX_WORD = 256;
    private static final int CACHE_MAX_ENTRIES = 1 << 18;

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final PairMap merges;
    private final String unkToken;
    private final String prefix;   // continuing_subword_prefix, null when absent
    private final String suffix;   // end_of_word_suffix, null when absent
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final int[] singleCharId = new int[65536];   // id of each one-unit token, -1 if none
    private final int[] byteFallbackId = new int[256];   // id of <0xAB>, -1 if none
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, int[]> byteCache = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, int[]> spanCache = new ConcurrentHashMap<>();      // ids, first units, end units
    private final ConcurrentHashMap<String, int[]> byteSpanCache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs of token strings in rank order
     */
    public BpeModel(Map<String, Integer> vocab, List<String[]> merges, String unkToken, String prefix,
                    String suffix, boolean fuseUnk, boolean byteFallback, boolean ignoreMerges) {
        this.vocab = vocab;
        this.unkToken = unkToken;
        this.prefix = prefix;
        this.suffix = suffix;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        int max = -1;
        for (int id : vocab.values()) max = Math.max(max, id);
        idToToken = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) idToToken[e.getValue()] = e.getKey();
        this.merges = new PairMap(merges.size());
        int prefixLen = prefix == null ? 0 : prefix.length();
        for (int rank = 0; rank < merges.size(); rank++) {
            String a = merges.get(rank)[0], b = merges.get(rank)[1];
            Integer ia = vocab.get(a), ib = vocab.get(b);
            if (ia == null) throw new TokenizerException("tokenizer.json: merge " + (rank + 1) + " uses '" + a + "', which is not in the vocabulary");
            if (ib == null) throw new TokenizerException("tokenizer.json: merge " + (rank + 1) + " uses '" + b + "', which is not in the vocabulary");
            String joined = a + (prefixLen > 0 && b.startsWith(prefix) ? b.substring(prefixLen) : b.substring(Math.min(prefixLen, b.length())));
            Integer merged = vocab.get(joined);
            if (merged == null) throw new TokenizerException("tokenizer.json: merge " + (rank + 1) + " makes '" + joined + "', which is not in the vocabulary");
            this.merges.put(ia, ib, rank, merged);
        }
        Arrays.fill(singleCharId, -1);
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (e.getKey().length() == 1) singleCharId[e.getKey().charAt(0)] = e.getValue();
        }
        Arrays.fill(byteFallbackId, -1);
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            if (id != null) byteFallbackId[b] = id;
        }
        if (unkToken != null && !vocab.containsKey(unkToken)) {
            // the Rust library fails only when the unknown token is needed; so do we (see mergeWord)
        }
    }

    public Integer tokenToId(String token) {
        return vocab.get(token);
    }

    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** One more than the largest id (the Rust library's vocab size for BPE is the number of entries). */
    public int vocabSize() {
        return vocab.size();
    }

    public Map<String, Integer> vocab() {
        return vocab;
    }

    /** Appends the ids of one pre-tokenized piece. */
    public void tokenize(Piece piece, IntList out) {
        String text = piece.text().text();
        if (text.isEmpty()) return;
        ConcurrentHashMap<String, int[]> c = piece.byteLevel() ? byteCache : cache;
        int[] hit = c.get(text);
        if (hit != null) {
            out.addAll(hit);
            return;
        }
        String word = piece.byteLevel() ? ByteLevelAlphabet.encode(text) : text;
        int[] ids = tokenizeWord(word);
        if (text.length() < CACHE_MAX_WORD && c.size() < CACHE_MAX_ENTRIES) c.put(text, ids);
        out.addAll(ids);
    }

    /** The ids of one word spelled in the vocabulary's alphabet. */
    public int[] tokenizeWord(String word) {
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) return new int[] {id};
        }
        int[] ids = initialSymbols(word, null);
        int n = BpeMerger.merge(merges, ids, ids.length);
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    /**
     * Appends the ids of one pre-tokenized piece and, for each, its span in the original input:
     * the token's bytes in the word are widened to whole code points of the piece's text, whose
     * alignment gives the span (so every token that covers part of a character gets the whole
     * character, as in the Rust library). The cache keeps each token's units in the piece's text,
     * a function of the text alone.
     */
    public void tokenizeWithSpans(Piece piece, IntList ids, IntList starts, IntList ends) {
        NormalizedString ns = piece.text();
        String text = ns.text();
        if (text.isEmpty()) return;
        ConcurrentHashMap<String, int[]> c = piece.byteLevel() ? byteSpanCache : spanCache;
        int[] t = c.get(text);
        if (t == null) {
            t = tokenizeWithUnits(text, piece.byteLevel());
            if (text.length() < CACHE_MAX_WORD && c.size() < CACHE_MAX_ENTRIES) c.put(text, t);
        }
        int n = t.length / 3;
        for (int k = 0; k < n; k++) {
            ids.add(t[k]);
            starts.add(ns.originalStart(t[n + k]));
            ends.add(ns.originalEnd(t[2 * n + k] - 1));
        }
    }

    /** The ids of a piece's text, then each token's first unit in the text, then the unit after its last. */
    private int[] tokenizeWithUnits(String text, boolean byteLevel) {
        String word = byteLevel ? ByteLevelAlphabet.encode(text) : text;
        int[] idsAndLengths = tokenizeWordWithLengths(word);
        int n = idsAndLengths.length / 2;
        int[] out = new int[3 * n];
        System.arraycopy(idsAndLengths, 0, out, 0, n);
        Utf8Cursor wordStart = new Utf8Cursor(word), wordEnd = new Utf8Cursor(word);
        // byte-level: word unit i is byte i of the text, so word bytes → word units → text bytes → text units
        Utf8Cursor textStart = byteLevel ? new Utf8Cursor(text) : null, textEnd = byteLevel ? new Utf8Cursor(text) : null;
        int at = 0;
        for (int k = 0; k < n; k++) {
            int next = at + idsAndLengths[n + k];
            int from = wordStart.unitOf(at), to = wordEnd.endUnitOf(next - 1);
            if (byteLevel) {
                from = textStart.unitOf(from);
                to = textEnd.endUnitOf(to - 1);
            }
            out[n + k] = from;
            out[2 * n + k] = to;
            at = next;
        }
        return out;
    }

    /** The ids of one word followed by their lengths in UTF-8 bytes of the word. */
    private int[] tokenizeWordWithLengths(String word) {
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) return new int[] {id, Utf8.length(word)};
        }
        IntList lengthList = new IntList(word.length() + 4);
        int[] ids = initialSymbols(word, lengthList);
        int[] lengths = lengthList.toArray();
        int n = BpeMerger.merge(merges, ids, lengths, ids.length);
        int[] out = new int[2 * n];
        System.arraycopy(ids, 0, out, 0, n);
        System.arraycopy(lengths, 0, out, n, n);
        return out;
    }

    /**
     * The word's characters as ids, before any merge (the Rust library's merge_word, first half);
     * with {@code lengths}, each symbol's length in UTF-8 bytes of the word is appended to it.
     */
    private int[] initialSymbols(String w, IntList lengths) {
        int len = w.length();
        IntList out = new IntList(len + 4);
        boolean plain = (prefix == null || prefix.isEmpty()) && (suffix == null || suffix.isEmpty());
        int unkId = -1, pendingUnk = 0;   // pendingUnk: 1 when an unknown symbol waits to be emitted
        int unkLength = 0;                // its length in bytes (several characters when fused)
        for (int i = 0; i < len; ) {
            int cp = w.codePointAt(i);
            int end = i + Character.charCount(cp);
            int id = -1;
            String s = null;
            if (plain && end - i == 1) {
                id = singleCharId[w.charAt(i)];
            } else {
                StringBuilder sb = new StringBuilder(8);
                if (i > 0 && prefix != null) sb.append(prefix);
                sb.append(w, i, end);
                if (end == len && suffix != null) sb.append(suffix);
                s = sb.toString();
                Integer v = vocab.get(s);
                if (v != null) id = v;
            }
            if (id >= 0) {
                if (pendingUnk > 0) {
                    out.add(unkId);
                    if (lengths != null) lengths.add(unkLength);
                    pendingUnk = 0;
                }
                out.add(id);
                if (lengths != null) lengths.add(Utf8.length(cp));
            } else {
                if (s == null) s = w.substring(i, end);
                boolean done = false;
                if (byteFallback) {
                    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);   // with the prefix/suffix, as in the Rust library
                    boolean all = true;
                    for (byte b : bytes) if (byteFallbackId[b & 0xFF] < 0) { all = false; break; }
                    if (all) {
                        for (byte b : bytes) {
                            out.add(byteFallbackId[b & 0xFF]);
                            if (lengths != null) lengths.add(1);
                        }
                        done = true;
                    }
                }
                if (!done && unkToken != null) {
                    Integer u = vocab.get(unkToken);
                    if (u == null) throw new TokenizerException("tokenizer.json: unk_token '" + unkToken + "' is not in the vocabulary");
                    if (pendingUnk > 0 && !fuseUnk) {
                        out.add(unkId);
                        if (lengths != null) lengths.add(unkLength);
                        unkLength = 0;
                    } else if (pendingUnk == 0) {
                        unkLength = 0;
                    }
                    unkId = u;
                    pendingUnk = 1;
                    unkLength += Utf8.length(cp);
                }
            }
            i = end;
        }
        if (pendingUnk > 0) {
            out.add(unkId);
            if (lengths != null) lengths.add(unkLength);
        }
        return out.toArray();
    }
}
