package org.cce4j.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.tokenizer.decode.Decoder;
import org.cce4j.tokenizer.model.BpeModel;
import org.cce4j.tokenizer.normalize.Normalizer;
import org.cce4j.tokenizer.postprocess.PostProcessor;
import org.cce4j.tokenizer.postprocess.PostProcessor.TokenSpans;
import org.cce4j.tokenizer.pretokenize.PreTokenizer;
import org.cce4j.tokenizer.text.IntList;
import org.cce4j.tokenizer.text.NormalizedString;
import org.cce4j.tokenizer.text.Piece;
import org.cce4j.tokenizer.text.Utf8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * A Hugging Face tokenizer (tokenizer.json) in pure Java, giving the Rust library's ids.
 *
 * <pre>
 *   input ─▶ added tokens (raw) ─▶ normalizer ─▶ added tokens (normalized) ─▶ pre-tokenizer
 *         ─▶ BPE per piece ─▶ truncation ─▶ post-processor (special tokens) ─▶ padding ─▶ ids
 *   ids ─▶ tokens (special ones optionally skipped) ─▶ decoder ─▶ text
 * </pre>
 *
 * {@link #encodeWithOffsets} follows the same pipeline and also gives each token's span of the
 * input (see {@link Encoding}); it is a separate path, so that {@link #encode} does no work for
 * offsets.
 *
 * Instances are immutable apart from the BPE word caches, and safe to share between threads.
 * Text with a lone surrogate (not valid UTF-16, so not Unicode text) is refused with a
 * {@link TokenizerException}; so is an id that names no token when decoding.
 */
public final class Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BpeModel model;
    private final AddedVocabulary added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final Truncation truncation;
    private final Padding padding;
    private final TokenizerConfig config;
    private final int reservedForSpecials;

    private Tokenizer(TokenizerJson.Parts p, TokenizerConfig config) {
        this.model = p.model();
        this.normalizer = p.normalizer();
        this.preTokenizer = p.preTokenizer();
        this.postProcessor = p.postProcessor();
        this.decoder = p.decoder();
        this.truncation = p.truncation();
        this.padding = p.padding();
        this.config = config;
        this.added = new AddedVocabulary(p.addedTokens(), model::tokenToId, model.vocabSize(), normalizer);
        this.reservedForSpecials = postProcessor == null ? 0 : postProcessor.addedTokens();
    }

    /** Loads tokenizer.json, or a folder holding tokenizer.json and optionally tokenizer_config.json. */
    public static Tokenizer load(Path path) {
        Path json = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        Path configPath = json.resolveSibling("tokenizer_config.json");
        TokenizerConfig config = Files.isRegularFile(configPath)
                ? TokenizerConfig.parse(readJson(configPath), configPath.toString()) : TokenizerConfig.EMPTY;
        return new Tokenizer(TokenizerJson.parse(readJson(json), json.toString()), config);
    }

    /** A tokenizer from the text of a tokenizer.json (and optionally of its tokenizer_config.json). */
    public static Tokenizer fromJson(String tokenizerJson, String tokenizerConfigJson) {
        TokenizerConfig config = tokenizerConfigJson == null ? TokenizerConfig.EMPTY
                : TokenizerConfig.parse(parseJson(tokenizerConfigJson, "tokenizer_config.json"), "tokenizer_config.json");
        return new Tokenizer(TokenizerJson.parse(parseJson(tokenizerJson, "tokenizer.json"), "tokenizer.json"), config);
    }

    public static Tokenizer fromJson(String tokenizerJson) {
        return fromJson(tokenizerJson, null);
    }

    private static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (JsonProcessingException e) {
            throw new TokenizerException(p + ": malformed JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")" : ""));
        } catch (IOException e) {
            if (!Files.exists(p)) throw new TokenizerException("no such file: " + p);
            throw new TokenizerException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode parseJson(String text, String source) {
        try {
            JsonNode n = JSON.readTree(text);
            if (n == null) throw new TokenizerException(source + ": empty");
            return n;
        } catch (JsonProcessingException e) {
            throw new TokenizerException(source + ": malformed JSON: " + e.getOriginalMessage());
        }
    }

    /** The ids of {@code text}; with {@code addSpecialTokens} the post-processor's special tokens too. */
    public int[] encode(String text, boolean addSpecialTokens) {
        int[] ids = encodeNoPadding(text, addSpecialTokens);
        if (padding == null) return ids;
        List<int[]> one = new ArrayList<>(List.of(ids));
        padding.apply(one);
        return one.get(0);
    }

    private int[] encodeNoPadding(String text, boolean addSpecialTokens) {
        Utf8.requireWellFormed(text);
        List<Piece> pieces = added.extractAndNormalize(text, normalizer);
        if (preTokenizer != null) pieces = preTokenizer.apply(pieces);
        IntList ids = new IntList(text.length() / 3 + 8);
        for (Piece p : pieces) {
            if (p.isFixed()) ids.addAll(p.ids());
            else model.tokenize(p, ids);
        }
        int[] r = ids.toArray();
        if (truncation != null) r = truncation.apply(r, addSpecialTokens ? reservedForSpecials : 0);
        if (postProcessor != null) r = postProcessor.process(r, addSpecialTokens);
        return r;
    }

    /**
     * The ids of {@code text}, exactly those of {@link #encode}, with the span of the input each
     * came from, in UTF-16 indices of {@code text} (the Rust library's offsets, which count code
     * points, converted; see {@link Encoding} for the conventions).
     */
    public Encoding encodeWithOffsets(String text, boolean addSpecialTokens) {
        Utf8.requireWellFormed(text);
        List<Piece> pieces = added.extractAndNormalize(text, normalizer);
        if (preTokenizer != null) pieces = preTokenizer.apply(pieces);
        int capacity = text.length() / 3 + 8;
        IntList ids = new IntList(capacity), starts = new IntList(capacity), ends = new IntList(capacity);
        boolean wantStrings = postProcessor != null && postProcessor.readsTokenStrings();
        List<String> matched = wantStrings ? new ArrayList<>() : null;   // the text of each added token found, by position
        IntList matchedAt = wantStrings ? new IntList() : null;
        for (Piece p : pieces) {
            if (p.isFixed()) {
                NormalizedString ns = p.text();
                for (int id : p.ids()) {
                    if (wantStrings) {
                        matchedAt.add(ids.size());
                        matched.add(ns.text());
                    }
                    ids.add(id);
                    starts.add(ns.originalStart(0));
                    ends.add(ns.originalEnd(ns.length() - 1));
                }
            } else {
                model.tokenizeWithSpans(p, ids, starts, ends);
            }
        }
        int[] r = ids.toArray(), s = starts.toArray(), e = ends.toArray();
        for (int i = 0; i < r.length; i++) {
            s[i] = codePointStart(text, s[i]);
            e[i] = codePointEnd(text, e[i]);
        }
        String[] strings = null;
        if (wantStrings) {
            strings = new String[r.length];
            for (int i = 0; i < r.length; i++) strings[i] = idToToken(r[i]);
            for (int k = 0; k < matchedAt.size(); k++) strings[matchedAt.get(k)] = matched.get(k);
        }
        if (truncation != null) {
            int kept = truncation.apply(r, addSpecialTokens ? reservedForSpecials : 0).length;
            if (kept < r.length) {
                int from = truncation.left() ? r.length - kept : 0;
                r = Arrays.copyOfRange(r, from, from + kept);
                s = Arrays.copyOfRange(s, from, from + kept);
                e = Arrays.copyOfRange(e, from, from + kept);
                if (strings != null) strings = Arrays.copyOfRange(strings, from, from + kept);
            }
        }
        if (postProcessor != null) {
            TokenSpans t = postProcessor.process(new TokenSpans(r, s, e, strings), addSpecialTokens, text);
            r = t.ids();
            s = t.starts();
            e = t.ends();
        }
        if (padding != null) {
            List<int[]> one = new ArrayList<>(List.of(r));
            padding.apply(one);
            int[] padded = one.get(0);
            if (padded.length > r.length) {
                int shift = padding.left() ? padded.length - r.length : 0;
                int[] ps = new int[padded.length], pe = new int[padded.length];
                System.arraycopy(s, 0, ps, shift, s.length);
                System.arraycopy(e, 0, pe, shift, e.length);
                r = padded;
                s = ps;
                e = pe;
            }
        }
        return new Encoding(r, s, e);
    }

    /** Widens a span's start to the start of its code point (the Rust library's spans hold whole characters). */
    private static int codePointStart(String text, int i) {
        return i > 0 && i < text.length() && Character.isLowSurrogate(text.charAt(i)) && Character.isHighSurrogate(text.charAt(i - 1)) ? i - 1 : i;
    }

    private static int codePointEnd(String text, int i) {
        return i > 0 && i < text.length() && Character.isLowSurrogate(text.charAt(i)) && Character.isHighSurrogate(text.charAt(i - 1)) ? i + 1 : i;
    }

    /** Encodes many texts on {@code threads} threads (padding, if configured, to the batch's longest). */
    public List<int[]> encodeBatch(List<String> texts, boolean addSpecialTokens, int threads) {
        int[][] out = new int[texts.size()][];
        if (threads <= 1 || texts.size() < 2) {
            for (int i = 0; i < out.length; i++) out[i] = encodeNoPadding(texts.get(i), addSpecialTokens);
        } else {
            ForkJoinPool pool = new ForkJoinPool(threads);
            try {
                pool.submit(() -> IntStream.range(0, out.length).parallel()
                        .forEach(i -> out[i] = encodeNoPadding(texts.get(i), addSpecialTokens))).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new IllegalStateException(e.getCause());
            } finally {
                pool.shutdown();
            }
        }
        List<int[]> result = new ArrayList<>(Arrays.asList(out));
        if (padding != null) padding.apply(result);
        return result;
    }

    /** The text of {@code ids}; with {@code skipSpecialTokens} the special added tokens are left out. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            String t = idToToken(id);
            if (t == null) throw new TokenizerException("id " + id + " is not in the vocabulary (size " + vocabSize() + ")");
            if (skipSpecialTokens && added.isSpecial(t)) continue;
            tokens.add(t);
        }
        return decoder == null ? String.join(" ", tokens) : decoder.decode(tokens);
    }

    /** The id of a token (added tokens first, then the model's vocabulary). */
    public OptionalInt tokenToId(String token) {
        AddedToken t = added.byContent(token);
        if (t != null) return OptionalInt.of(t.id());
        Integer id = model.tokenToId(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The token of an id, or null. */
    public String idToToken(int id) {
        AddedToken t = added.byId(id);
        return t != null ? t.content() : model.idToToken(id);
    }

    /** The number of ids: the model's vocabulary and the added tokens beyond it. */
    public int vocabSize() {
        int size = model.vocabSize();
        for (AddedToken t : added.tokens()) if (model.tokenToId(t.content()) == null) size++;
        return size;
    }

    public List<AddedToken> addedTokens() {
        return added.tokens();
    }

    public boolean isSpecial(int id) {
        String t = idToToken(id);
        return t != null && added.isSpecial(t);
    }

    public TokenizerConfig config() {
        return config;
    }

    /** The beginning-of-sequence id, from tokenizer_config.json, else the first special token the post-processor puts in front. */
    public OptionalInt bosId() {
        if (config.bosToken() != null) return tokenToId(config.bosToken());
        if (postProcessor != null) {
            int[] withSpecials = postProcessor.process(new int[] {-1}, true);
            if (withSpecials.length > 1 && withSpecials[0] != -1) return OptionalInt.of(withSpecials[0]);
        }
        return OptionalInt.empty();
    }

    public OptionalInt eosId() {
        return config.eosToken() == null ? OptionalInt.empty() : tokenToId(config.eosToken());
    }

    public OptionalInt padId() {
        if (config.padToken() != null) return tokenToId(config.padToken());
        return padding == null ? OptionalInt.empty() : OptionalInt.of(padding.padId());
    }
}
