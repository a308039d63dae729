package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.Overflow;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.packing.TokenCache;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cache with a real tokenizer (Llama 3.1's, the fetched test data) on a real corpus (Moby-Dick's
 * chapters, cut at blank lines, split at 256 tokens): on two threads the cached rows are the in-memory
 * reader's, id for id; the times of both and of the second, cached read go to the test's output.
 */
class CachedRealTokenizerTest {
    @TempDir
    Path dir;

    @Test
    void mobyDickThroughTheCacheIsTheReadersRows() throws Exception {
        Path corpus = Path.of("../.data/demo/moby-dick");
        Assumptions.assumeTrue(Files.isDirectory(corpus), "no .data/demo/moby-dick; skipping");
        Path folder = DataReferenceTest.tokenizerFolder("llama3_1");
        Tokenizer tokenizer = Tokenizer.load(folder);
        FormatOptions o = FormatOptions.defaults(new RowOptions(tokenizer.vocabSize(), 256, Overflow.SPLIT, false)).withTextSplit(TextSplit.BLANK_LINES);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        TokenCache.Options cache = new TokenCache.Options(dir.resolve("cache"), 2, new PrintStream(log, true), false);
        String digest = CachedDatasetReader.filesDigest(java.util.List.of(folder.resolve("tokenizer.json")));

        long t0 = System.nanoTime();
        LoadedDataset expected = DatasetReader.read(corpus, o, tokenizer, () -> ChatTemplate.of(tokenizer, folder));
        long t1 = System.nanoTime();
        try (LoadedDataset built = CachedDatasetReader.read(corpus, o, tokenizer, () -> ChatTemplate.of(tokenizer, folder), digest, cache)) {
            long t2 = System.nanoTime();
            assertEquals(expected.report(), built.report());
            assertEquals(expected.documents(), built.documents());
            for (int i = 0; i < expected.rows().size(); i++) {
                TokenRow e = expected.rows().row(i), a = built.rows().row(i);
                assertArrayEquals(e.inputIds(), a.inputIds(), "row " + i);
                assertArrayEquals(e.labels(), a.labels(), "row " + i);
            }
            try (LoadedDataset again = CachedDatasetReader.read(corpus, o, tokenizer, () -> ChatTemplate.of(tokenizer, folder), digest, cache)) {
                long t3 = System.nanoTime();
                assertEquals(expected.report(), again.report());
                assertTrue(log.toString().contains("rows from cache"), log.toString());
                System.out.println(String.format(Locale.ROOT, "moby-dick: %s; in memory %.2fs, tokenized into the cache on 2 threads %.2fs, from the cache %.3fs",
                        expected.report().summary(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9));
            }
        }
    }
}
