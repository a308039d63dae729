package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.Documents;
import org.cce4j.trainer.data.Overflow;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.packing.TokenCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rows through the token cache against the rows {@link DatasetReader} reads into memory, for every
 * format: id for id, label for label, the same report (rows, truncated, split, skipped by kind with
 * the first message in file order) and the same documents, tokenized on three threads over more
 * records than one chunk; a second read maps the file without tokenizing; a touched source, a
 * changed option and a torn cache file tokenize again; a bad row is the sequential reader's error.
 */
class CachedDatasetReaderTest {
    private static final Tokenizer TOKENIZER = ByteTokenizer.build(ByteTokenizer.TEMPLATE);
    private static final Supplier<ChatTemplate> TEMPLATE = () -> ChatTemplate.of(TOKENIZER);

    @TempDir
    Path dir;

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    private TokenCache.Options cache() {
        return new TokenCache.Options(dir.resolve("cache"), 3, new PrintStream(log, true, StandardCharsets.UTF_8), false);
    }

    private static FormatOptions options(int seqLen, Overflow overflow, boolean skip) {
        return FormatOptions.defaults(new RowOptions(TOKENIZER.vocabSize(), seqLen, overflow, skip));
    }

    /** {@code n} lines of the format, seeded; every 17th line bad in some way when {@code bad}. */
    private Path source(String format, int n, boolean bad) throws IOException {
        SplittableRandom r = new SplittableRandom(format.hashCode());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (bad && i % 17 == 5) {
                sb.append(i % 34 == 5 ? "\n" : "{\"oops\": \n");
                continue;
            }
            String a = words(r), b = words(r);
            switch (format) {
                case "text" -> sb.append("{\"text\": \"").append(a).append(' ').append(b).append("\"}\n");
                case "prompt_completion" -> sb.append("{\"prompt\": \"").append(a).append("\", \"completion\": \" ").append(b).append("\"}\n");
                case "chat" -> sb.append("{\"messages\": [{\"role\": \"user\", \"content\": \"").append(a)
                        .append("\"}, {\"role\": \"assistant\", \"content\": \"").append(b).append("\"}]}\n");
                case "alpaca" -> sb.append("{\"instruction\": \"").append(a).append("\", \"input\": \"").append(i % 2 == 0 ? "" : b)
                        .append("\", \"output\": \"").append(b).append("\"}\n");
                case "tokens" -> {
                    int len = 2 + r.nextInt(40);
                    StringBuilder ids = new StringBuilder(), labels = new StringBuilder();
                    for (int t = 0; t < len; t++) {
                        int id = r.nextInt(TOKENIZER.vocabSize());
                        ids.append(t > 0 ? ", " : "").append(id);
                        labels.append(t > 0 ? ", " : "").append(t < 2 ? -100 : id);
                    }
                    sb.append("{\"input_ids\": [").append(ids).append("]").append(i % 2 == 0 ? ", \"labels\": [" + labels + "]" : "").append("}\n");
                }
                default -> throw new IllegalArgumentException(format);
            }
        }
        Path p = dir.resolve(format + ".jsonl");
        Files.writeString(p, sb.toString());
        return p;
    }

    private static String words(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(12);
        for (int i = 0; i < n; i++) sb.append(i > 0 ? " " : "").append("yes no maybe answer why colour".split(" ")[r.nextInt(6)]);
        return sb.toString();
    }

    private LoadedDataset cached(Path p, FormatOptions o) throws IOException {
        return CachedDatasetReader.read(p, o, TOKENIZER, TEMPLATE, "byte-tokenizer", cache());
    }

    private static void assertSameRows(LoadedDataset expected, LoadedDataset actual) {
        assertEquals(expected.report(), actual.report(), "the report");
        assertEquals(expected.documents(), actual.documents(), "the documents");
        assertEquals(expected.rows().size(), actual.rows().size(), "rows");
        for (int i = 0; i < expected.rows().size(); i++) {
            TokenRow e = expected.rows().row(i), a = actual.rows().row(i);
            assertArrayEquals(e.inputIds(), a.inputIds(), "ids of row " + i);
            assertArrayEquals(e.labels(), a.labels(), "labels of row " + i);
            assertEquals(e.targets(), a.targets(), "targets of row " + i);
            assertEquals(e.length(), actual.rows().length(i), "length of row " + i);
        }
    }

    private String takeLog() {
        String s = log.toString(StandardCharsets.UTF_8);
        log.reset();
        return s;
    }

    @ParameterizedTest
    @ValueSource(strings = {"text", "prompt_completion", "chat", "alpaca", "tokens"})
    void cachedRowsAreTheReadersRowsAndASecondReadMapsThem(String format) throws IOException {
        int prompt = format.equals("alpaca") ? 240 : 0; // Stanford's prompt alone is about 200 bytes
        for (FormatOptions o : List.of(options(prompt + 64, Overflow.TRUNCATE, true), options(prompt + 24, Overflow.SPLIT, true))) {
            Path p = source(format, 300, true);
            LoadedDataset expected = DatasetReader.read(p, o, TOKENIZER, TEMPLATE);
            assertTrue(expected.report().rows().skippedTotal() > 0, "the source has bad rows");
            try (LoadedDataset first = cached(p, o)) {
                assertSameRows(expected, first);
            }
            String built = takeLog();
            assertTrue(built.contains("tokenized " + p.getFileName()), built);
            assertFalse(built.contains("rows from cache"), built);
            try (LoadedDataset second = cached(p, o)) {
                assertSameRows(expected, second);
                String again = takeLog();
                assertEquals("data: " + String.format("%,d", expected.rows().size()) + " rows from cache "
                        + TokenCache.fileFor(p, CachedDatasetReader.tokenization(p, o, DataFormat.parse(format), true,
                        format.equals("tokens") ? "" : "byte-tokenizer"), dir.resolve("cache")), again.strip());
            }
        }
        if (format.equals("prompt_completion") || format.equals("tokens")) {
            FormatOptions split = options(24, Overflow.SPLIT, true);
            LoadedDataset e = DatasetReader.read(dir.resolve(format + ".jsonl"), split, TOKENIZER, TEMPLATE);
            assertTrue(e.report().rows().split() > 0 && e.documents().multiRow() > 0, "some rows were split: " + e.report().summary());
        }
    }

    @Test
    void alpacaInTheChatStyleAndChatOnTheLastTurnAreCachedAsRead() throws IOException {
        Path alpaca = source("alpaca", 100, false);
        Path chat = source("chat", 100, false);
        for (var c : List.of(Map.entry(alpaca, options(512, Overflow.ERROR, false).withAlpacaStyle(AlpacaStyle.CHAT)),
                Map.entry(chat, options(512, Overflow.ERROR, false).withTrainOn(TrainOn.LAST_ASSISTANT)),
                Map.entry(chat, options(512, Overflow.ERROR, false).withTrainOn(TrainOn.ALL)))) {
            try (LoadedDataset got = cached(c.getKey(), c.getValue())) {
                assertSameRows(DatasetReader.read(c.getKey(), c.getValue(), TOKENIZER, TEMPLATE), got);
            }
        }
    }

    @Test
    void plainTextFilesAndFoldersAreCachedAsRead() throws IOException {
        Path folder = dir.resolve("books");
        Files.createDirectories(folder.resolve("b"));
        StringBuilder para = new StringBuilder();
        for (int i = 0; i < 90; i++) para.append("maybe yes no ").append(i).append(i % 3 == 0 ? "\n\n" : "\n");
        Files.writeString(folder.resolve("a.txt"), para.toString());
        Files.writeString(folder.resolve("b").resolve("c.txt"), "why not\n\n\nanswer yes\n");
        Files.write(folder.resolve("b").resolve("d.txt"), new byte[] {'o', 'k', '\n', (byte) 0xFF, '\n'});
        Files.writeString(folder.resolve("ignored.md"), "not text data");
        for (FormatOptions o : List.of(options(4096, Overflow.ERROR, true), options(16, Overflow.SPLIT, true).withTextSplit(TextSplit.BLANK_LINES))) {
            LoadedDataset expected = DatasetReader.read(folder, o, TOKENIZER, TEMPLATE);
            assertEquals(1, expected.report().rows().skippedTotal(), "the file that is not UTF-8");
            try (LoadedDataset got = cached(folder, o)) {
                assertSameRows(expected, got);
            }
            try (LoadedDataset again = cached(folder, o)) {
                assertSameRows(expected, again);
            }
            assertTrue(takeLog().contains("rows from cache"));
            Path one = folder.resolve("a.txt");
            try (LoadedDataset got = cached(one, o)) {
                assertSameRows(DatasetReader.read(one, o, TOKENIZER, TEMPLATE), got);
            }
        }
        // a file of the folder changed: tokenized again, and the rows are the new ones
        FormatOptions o = options(4096, Overflow.ERROR, true);
        Files.writeString(folder.resolve("b").resolve("c.txt"), "why not at all\n");
        takeLog();
        try (LoadedDataset got = cached(folder, o)) {
            assertSameRows(DatasetReader.read(folder, o, TOKENIZER, TEMPLATE), got);
        }
        assertTrue(takeLog().contains("tokenized books"));
    }

    @Test
    void aTouchedSourceAChangedOptionAndATornFileTokenizeAgain() throws IOException {
        Path p = source("prompt_completion", 80, false);
        FormatOptions o = options(512, Overflow.ERROR, false);
        cached(p, o).close();
        takeLog();

        Files.setLastModifiedTime(p, FileTime.fromMillis(Files.getLastModifiedTime(p).toMillis() + 5000));
        try (LoadedDataset got = cached(p, o)) {
            assertSameRows(DatasetReader.read(p, o, TOKENIZER, TEMPLATE), got);
        }
        assertTrue(takeLog().contains("tokenized prompt_completion.jsonl"), "a new mtime tokenizes again");
        try (Stream<Path> files = Files.list(dir.resolve("cache"))) {
            assertEquals(1, files.filter(f -> f.toString().endsWith(".tokens")).count(), "the cache of the old contents was removed");
        }

        FormatOptions noEos = new FormatOptions(null, o.rows(), o.textSplit(), o.trainOn(), o.alpacaStyle(), false);
        try (LoadedDataset got = cached(p, noEos)) {
            LoadedDataset expected = DatasetReader.read(p, noEos, TOKENIZER, TEMPLATE);
            assertSameRows(expected, got);
            assertFalse(expected.rows().row(0).inputIds()[expected.rows().row(0).length() - 1] == ByteTokenizer.EOS);
        }
        assertTrue(takeLog().contains("tokenized"), "add_eos false tokenizes again");
        try (LoadedDataset got = CachedDatasetReader.read(p, o, TOKENIZER, TEMPLATE, "another tokenizer", cache())) {
            assertEquals(80, got.rows().size());
        }
        assertTrue(takeLog().contains("tokenized"), "another tokenizer tokenizes again");

        Path file = TokenCache.fileFor(p, CachedDatasetReader.tokenization(p, o, DataFormat.PROMPT_COMPLETION, true, "byte-tokenizer"), dir.resolve("cache"));
        assertTrue(Files.isRegularFile(file));
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() - 10);
        }
        try (LoadedDataset got = cached(p, o)) {
            assertSameRows(DatasetReader.read(p, o, TOKENIZER, TEMPLATE), got);
        }
        String torn = takeLog();
        assertTrue(torn.contains("is not usable") && torn.contains("tokenized"), torn);
        try (LoadedDataset got = cached(p, o)) {
            assertEquals(80, got.rows().size());
        }
        assertTrue(takeLog().contains("rows from cache"), "the replaced file is used");
    }

    @Test
    void aBadRowIsTheReadersErrorAndLeavesNoCache() throws IOException {
        Path p = source("text", 200, true);
        FormatOptions strict = options(512, Overflow.ERROR, false);
        String expected = assertThrows(InvalidInputException.class, () -> DatasetReader.read(p, strict, TOKENIZER, TEMPLATE)).getMessage();
        assertEquals(p + ":6: blank line (a JSONL file has one JSON object on every line)", expected);
        assertEquals(expected, assertThrows(InvalidInputException.class, () -> cached(p, strict)).getMessage());
        try (Stream<Path> files = Files.list(dir.resolve("cache"))) {
            assertEquals(0, files.filter(f -> f.toString().endsWith(".tokens")).count());
        }
        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "\n\n");
        FormatOptions skip = options(512, Overflow.ERROR, true).withFormat(DataFormat.TEXT);
        String none = assertThrows(InvalidInputException.class, () -> DatasetReader.read(empty, skip, TOKENIZER, TEMPLATE)).getMessage();
        assertEquals(none, assertThrows(InvalidInputException.class, () -> cached(empty, skip)).getMessage());
        assertEquals(none, assertThrows(InvalidInputException.class, () -> cached(empty, skip)).getMessage(), "and from the cache");
        Documents.NONE.starts(0);
    }
}
