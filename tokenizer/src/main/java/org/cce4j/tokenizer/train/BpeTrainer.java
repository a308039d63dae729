package org.cce4j.tokenizer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.tokenizer.pretokenize.WordScanner;
import org.cce4j.tokenizer.text.ByteLevelAlphabet;
import org.cce4j.tokenizer.text.IntList;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Trains a byte-level BPE tokenizer (the Llama 3 / GPT-4 kind) on a text corpus and writes it as a
 * tokenizer.json that the Hugging Face library loads: the Llama 3 split pattern, the 256 byte
 * symbols as the base vocabulary (so every text encodes), then merges of the most frequent
 * adjacent pair (ties: the pair of smaller ids) until the vocabulary is full or no pair reaches
 * {@code minFrequency}; special tokens get the ids after it.
 *
 * <p>Pair counts are kept incrementally: a merge only revisits the words that contain its pair,
 * and a max-heap with lazy invalidation finds the next pair.
 */
public final class BpeTrainer {
    private final int vocabSize;
    private final int minFrequency;
    private final List<String> specialTokens;

    public BpeTrainer(int vocabSize, int minFrequency, List<String> specialTokens) {
        if (vocabSize < 256) throw new IllegalArgumentException("vocabSize must be at least 256 (the byte alphabet)");
        this.vocabSize = vocabSize;
        this.minFrequency = Math.max(1, minFrequency);
        this.specialTokens = List.copyOf(specialTokens);
    }

    /** The trained tokenizer as tokenizer.json text. */
    public String train(Iterable<String> texts) {
        Map<String, Long> wordCounts = new HashMap<>();
        WordScanner scanner = WordScanner.forPattern(WordScanner.LLAMA3);
        IntList spans = new IntList();
        for (String text : texts) {
            spans.clear();
            scanner.find(text, spans);
            for (int k = 0; k < spans.size(); k += 2) {
                wordCounts.merge(ByteLevelAlphabet.encode(text.substring(spans.get(k), spans.get(k + 1))), 1L, Long::sum);
            }
        }
        List<String> tokens = new ArrayList<>();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            String s = String.valueOf(ByteLevelAlphabet.charOf(b));
            vocab.put(s, tokens.size());
            tokens.add(s);
        }
        int[][] words = new int[wordCounts.size()][];
        long[] counts = new long[words.length];
        int w = 0;
        for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
            String s = e.getKey();
            words[w] = new int[s.length()];
            for (int i = 0; i < s.length(); i++) words[w][i] = vocab.get(String.valueOf(s.charAt(i)));
            counts[w++] = e.getValue();
        }
        Map<Long, Long> pairCount = new HashMap<>();
        Map<Long, Set<Integer>> pairWords = new HashMap<>();
        for (int i = 0; i < words.length; i++) {
            for (int j = 0; j + 1 < words[i].length; j++) {
                long p = pair(words[i][j], words[i][j + 1]);
                pairCount.merge(p, counts[i], Long::sum);
                pairWords.computeIfAbsent(p, x -> new HashSet<>()).add(i);
            }
        }
        // max count first, then the smaller pair
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(b[0], a[0]) : Long.compare(a[1], b[1]));
        pairCount.forEach((p, c) -> heap.add(new long[] {c, p}));
        List<String[]> merges = new ArrayList<>();
        while (tokens.size() < vocabSize - specialTokens.size() && !heap.isEmpty()) {
            long[] top = heap.poll();
            long p = top[1];
            Long current = pairCount.get(p);
            if (current == null || current != top[0]) continue;   // stale entry
            if (current < minFrequency) break;
            int a = (int) (p >>> 32), b = (int) p;
            String merged = tokens.get(a) + tokens.get(b);
            Integer id = vocab.get(merged);
            if (id == null) {
                id = tokens.size();
                vocab.put(merged, id);
                tokens.add(merged);
            }
            merges.add(new String[] {tokens.get(a), tokens.get(b)});
            Map<Long, Long> changed = new HashMap<>();
            for (int wi : new ArrayList<>(pairWords.getOrDefault(p, Set.of()))) {
                words[wi] = applyMerge(words[wi], a, b, id, counts[wi], wi, pairCount, pairWords, changed);
            }
            pairCount.remove(p);
            pairWords.remove(p);
            changed.forEach((q, c) -> {
                Long now = pairCount.get(q);
                if (now != null && now > 0) heap.add(new long[] {now, q});
            });
        }
        return json(vocab, merges, tokens.size());
    }

    private static int[] applyMerge(int[] word, int a, int b, int id, long count, int wi, Map<Long, Long> pairCount,
                                    Map<Long, Set<Integer>> pairWords, Map<Long, Long> changed) {
        // remove this word's pairs, merge, add them back: simple and exact
        for (int j = 0; j + 1 < word.length; j++) adjust(pair(word[j], word[j + 1]), -count, pairCount, changed);
        IntList out = new IntList(word.length);
        for (int j = 0; j < word.length; j++) {
            if (j + 1 < word.length && word[j] == a && word[j + 1] == b) {
                out.add(id);
                j++;
            } else out.add(word[j]);
        }
        int[] merged = out.toArray();
        for (int j = 0; j + 1 < word.length; j++) {
            Set<Integer> s = pairWords.get(pair(word[j], word[j + 1]));
            if (s != null) s.remove(wi);
        }
        for (int j = 0; j + 1 < merged.length; j++) {
            long q = pair(merged[j], merged[j + 1]);
            adjust(q, count, pairCount, changed);
            pairWords.computeIfAbsent(q, x -> new HashSet<>()).add(wi);
        }
        return merged;
    }

    private static void adjust(long p, long delta, Map<Long, Long> pairCount, Map<Long, Long> changed) {
        long v = pairCount.getOrDefault(p, 0L) + delta;
        if (v <= 0) pairCount.remove(p);
        else pairCount.put(p, v);
        changed.put(p, v);
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private String json(Map<String, Integer> vocab, List<String[]> merges, int modelSize) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0").putNull("truncation").putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specialTokens.size(); i++) {
            added.addObject().put("id", modelSize + i).put("content", specialTokens.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        steps.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false)
                .putObject("pattern").put("Regex", WordScanner.LLAMA3);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode ms = model.putArray("merges");
        for (String[] pr : merges) ms.addArray().add(pr[0]).add(pr[1]);
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Trains and writes tokenizer.json atomically (temporary file, fsync, rename). */
    public void trainToFile(Iterable<String> texts, Path output) throws IOException {
        String json = train(texts);
        Path dir = output.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".tokenizer", ".tmp");
        try {
            Files.writeString(tmp, json);
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
