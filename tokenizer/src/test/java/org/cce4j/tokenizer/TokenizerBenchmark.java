package org.cce4j.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Encode throughput of our tokenizer and of the Rust library through DJL, on the same texts in
 * the same JVM: single-threaded (one encode call per text, as a Java caller uses either), the
 * same with offsets (encodeWithOffsets; DJL's spans), then batches across threads. Not a test:
 * it asserts nothing and is run by hand (docs/benchmarks.md).
 *
 * <pre>
 *   java -cp ... org.cce4j.tokenizer.TokenizerBenchmark [models...]   (default: llama3 gemma3 qwen3)
 * </pre>
 */
public final class TokenizerBenchmark {
    public static void main(String[] args) throws Exception {
        System.setProperty("tokenizer.fullCorpus", "true");
        List<String> texts = new ArrayList<>();
        for (String s : TestData.brown()) if (s.length() < 2000) texts.add(s);   // sentences, not whole files
        texts.addAll(TestData.nlpCorpus().stream().filter(s -> s.length() < 2000).toList());
        long bytes = 0;
        for (String t : texts) bytes += t.getBytes(StandardCharsets.UTF_8).length;
        System.out.printf("texts: %d (Brown sentences + nlp-corpus sentences), %.1f MB UTF-8%n", texts.size(), bytes / 1e6);
        List<String> models = args.length > 0 ? List.of(args) : List.of("llama3", "gemma3", "qwen3");
        int cores = Runtime.getRuntime().availableProcessors();
        for (String name : models) {
            Path folder = TestData.model(name);
            Tokenizer ours = Tokenizer.load(folder);
            try (HuggingFaceTokenizer djl = HuggingFaceTokenizer.newInstance(folder.resolve("tokenizer.json"),
                    Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false", "modelMaxLength", "100000000"))) {
                long tokens = 0;
                for (String t : texts) tokens += ours.encode(t, false).length;
                double oursS = best(3, () -> { for (String t : texts) ours.encode(t, false); });
                double djlS = best(3, () -> { for (String t : texts) djl.encode(t, false, false); });
                System.out.printf("%-8s single thread: ours %6.2f MB/s %9.0f tokens/s | DJL (Rust) %6.2f MB/s %9.0f tokens/s | ratio %.2fx%n",
                        name, bytes / oursS / 1e6, tokens / oursS, bytes / djlS / 1e6, tokens / djlS, djlS / oursS);
                double offsetsS = best(3, () -> { for (String t : texts) ours.encodeWithOffsets(t, false); });
                double djlOffsetsS = best(3, () -> { for (String t : texts) djl.encode(t, false, false).getCharTokenSpans(); });
                System.out.printf("%-8s with offsets, single thread: ours encodeWithOffsets %6.2f MB/s (%.2fx encode's time) | DJL encode + getCharTokenSpans %6.2f MB/s%n",
                        name, bytes / offsetsS / 1e6, offsetsS / oursS, bytes / djlOffsetsS / 1e6);
                String[] array = texts.toArray(new String[0]);
                for (int threads = 1; threads <= cores; threads *= 2) {
                    int th = threads;
                    double s = best(3, () -> ours.encodeBatch(texts, false, th));
                    System.out.printf("%-8s batch, ours %d thread(s): %6.2f MB/s %9.0f tokens/s%n", name, threads, bytes / s / 1e6, tokens / s);
                }
                double b = best(3, () -> djl.batchEncode(array, false, false));
                System.out.printf("%-8s batch, DJL batchEncode (Rayon, %d cores): %6.2f MB/s %9.0f tokens/s%n", name, cores, bytes / b / 1e6, tokens / b);
            }
        }
    }

    /** The best of n timed runs after one warm-up run, in seconds. */
    private static double best(int n, Runnable r) {
        r.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
