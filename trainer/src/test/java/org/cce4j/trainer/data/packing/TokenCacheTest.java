package org.cce4j.trainer.data.packing;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.TokenRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cache of tokenized sources: a second open maps what the first wrote without tokenizing; a change
 * of the source's size or mtime, or of the tokenization's hash, tokenizes again; a cache file that is
 * not whole is ignored and replaced; dead temporary files are removed and live ones kept; a source that
 * changes while it is tokenized, a bad record and an unusable folder are user errors that leave no cache.
 */
class TokenCacheTest {

    /** A line and its 1-based number. */
    record Line(long number, String text) {}

    /** "3 4 5" → one row of those ids (labels the ids); "bad" → file:line error; "" → no row. */
    static final class Lines implements RowBuilder<Line> {
        final AtomicInteger tokenized = new AtomicInteger();
        final AtomicInteger rows = new AtomicInteger();
        Runnable whileReading = () -> {};

        @Override
        public Iterator<Line> records(InputStream source) {
            BufferedReader in = new BufferedReader(new InputStreamReader(source, StandardCharsets.UTF_8));
            long[] n = {0};
            return in.lines().map(t -> {
                if (++n[0] == 2) whileReading.run();
                return new Line(n[0], t);
            }).iterator();
        }

        @Override
        public List<TokenRow> rows(Line line) {
            tokenized.incrementAndGet();
            if (line.text().equals("bad")) throw new InvalidInputException("data.txt:" + line.number() + ": bad row");
            if (line.text().isBlank()) return List.of();
            int[] ids = Arrays.stream(line.text().trim().split(" ")).mapToInt(Integer::parseInt).toArray();
            rows.incrementAndGet();
            return List.of(new TokenRow(ids, ids, TokenRow.countTargets(ids)));
        }

        @Override
        public Map<String, String> report() {
            return Map.of("rows", Integer.toString(rows.get()));
        }
    }

    private final ByteArrayOutputStream messages = new ByteArrayOutputStream();

    private TokenCache.Options options(Path dir) {
        return new TokenCache.Options(dir, 3, new PrintStream(messages, true, StandardCharsets.UTF_8), false);
    }

    private String messages() {
        return messages.toString(StandardCharsets.UTF_8);
    }

    private static Path source(Path dir, String text) throws IOException {
        return Files.writeString(dir.resolve("data.txt"), text);
    }

    private static String text(int rows) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < rows; i++) sb.append(i).append(' ').append(i + 1).append(' ').append(i + 2).append('\n');
        return sb.toString();
    }

    private static List<Path> tokenFiles(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(p -> p.toString().endsWith(".tokens")).sorted().toList();
        }
    }

    @Test
    void aSecondOpenMapsTheCacheWithoutTokenizing(@TempDir Path dir) throws IOException {
        Path src = source(dir, text(1000) + "\n");
        Path cache = dir.resolve("cache");
        Lines first = new Lines();
        try (TokenCache.Cached c = TokenCache.open(src, "tok-1", first, options(cache))) {
            assertTrue(c.tokenized());
            assertEquals(1001, first.tokenized.get());
            assertEquals(1000, c.rows().size());
            assertArrayEquals(new int[] {7, 8, 9}, c.rows().row(7).inputIds());
            assertEquals(Map.of("rows", "1000"), c.report());
        }
        assertTrue(messages().contains("tokenized data.txt: 1,000 rows, 3,000 tokens"), messages());
        Lines second = new Lines();
        try (TokenCache.Cached c = TokenCache.open(src, "tok-1", second, options(cache))) {
            assertFalse(c.tokenized());
            assertEquals(0, second.tokenized.get(), "the cache was used");
            assertEquals(1000, c.rows().size());
            assertArrayEquals(new int[] {999, 1000, 1001}, c.rows().row(999).inputIds());
            assertEquals(Map.of("rows", "1000"), c.report(), "the report comes back with the cache");
        }
        assertEquals(List.of(TokenCache.fileFor(src, "tok-1", cache)), tokenFiles(cache));
    }

    @Test
    void aChangedSourceOrTokenizationTokenizesAgain(@TempDir Path dir) throws IOException {
        Path src = source(dir, text(10));
        Path cache = dir.resolve("cache");
        TokenCache.open(src, "tok-1", new Lines(), options(cache)).close();
        Path before = TokenCache.fileFor(src, "tok-1", cache);

        // the same size, another mtime
        Files.setLastModifiedTime(src, FileTime.fromMillis(Files.getLastModifiedTime(src).toMillis() - 60_000));
        Lines touched = new Lines();
        try (TokenCache.Cached c = TokenCache.open(src, "tok-1", touched, options(cache))) {
            assertTrue(c.tokenized());
            assertEquals(10, touched.tokenized.get());
        }
        assertFalse(Files.exists(before), "the cache of the old contents is removed");

        // another size (and the same mtime as before the append: the size alone tells)
        FileTime t = Files.getLastModifiedTime(src);
        Files.writeString(src, "1 2\n", StandardOpenOption.APPEND);
        Files.setLastModifiedTime(src, t);
        Lines grown = new Lines();
        try (TokenCache.Cached c = TokenCache.open(src, "tok-1", grown, options(cache))) {
            assertTrue(c.tokenized());
            assertEquals(11, c.rows().size());
        }

        // another tokenization: tokenized again, and both caches stay
        Lines other = new Lines();
        try (TokenCache.Cached c = TokenCache.open(src, "tok-2", other, options(cache))) {
            assertTrue(c.tokenized());
            assertEquals(11, other.tokenized.get());
        }
        assertEquals(2, tokenFiles(cache).size());
        try (TokenCache.Cached c = TokenCache.open(src, "tok-1", new Lines(), options(cache))) {
            assertFalse(c.tokenized());
        }
    }

    @Test
    void aTornCacheIsIgnoredAndReplaced(@TempDir Path dir) throws IOException {
        Path src = source(dir, text(200));
        Path cache = dir.resolve("cache");
        TokenCache.open(src, "tok", new Lines(), options(cache)).close();
        Path file = TokenCache.fileFor(src, "tok", cache);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(raf.length() / 2);
        }
        Lines again = new Lines();
        try (TokenCache.Cached c = TokenCache.open(src, "tok", again, options(cache))) {
            assertTrue(c.tokenized());
            assertEquals(200, again.tokenized.get());
            assertArrayEquals(new int[] {199, 200, 201}, c.rows().row(199).inputIds());
        }
        assertTrue(messages().contains("is not usable (the header says"), messages());
        try (TokenCache.Cached c = TokenCache.open(src, "tok", new Lines(), options(cache))) {
            assertFalse(c.tokenized(), "the replacement is whole");
        }
    }

    @Test
    void aCacheFileOfAnotherSourceUnderThisName(@TempDir Path dir) throws IOException {
        // the metadata is compared, not only the name: a file copied or renamed into place is not trusted
        Path a = source(dir, text(5));
        Path b = Files.writeString(dir.resolve("other.txt"), text(7));
        Path cache = dir.resolve("cache");
        TokenCache.open(a, "tok", new Lines(), options(cache)).close();
        Files.copy(TokenCache.fileFor(a, "tok", cache), TokenCache.fileFor(b, "tok", cache));
        try (TokenCache.Cached c = TokenCache.open(b, "tok", new Lines(), options(cache))) {
            assertTrue(c.tokenized());
            assertEquals(7, c.rows().size());
        }
        assertTrue(messages().contains("was built from another source; tokenizing again"), messages());
    }

    @Test
    void deadTemporaryFilesAreRemovedAndLiveOnesKept(@TempDir Path dir) throws IOException {
        Path cache = Files.createDirectories(dir.resolve("cache"));
        FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
        Path dead = Files.writeString(cache.resolve(".data.txt-0123.tokens.tmp-1f"), "half");
        Files.setLastModifiedTime(dead, old);
        Path fresh = Files.writeString(cache.resolve(".data.txt-4567.tokens.tmp-2e"), "being written");
        Path locked = Files.writeString(cache.resolve(".data.txt-89ab.tokens.tmp-3d"), "being written slowly");
        Files.setLastModifiedTime(locked, old);
        Path other = Files.writeString(cache.resolve(".notes.tmp-1"), "not ours");
        Files.setLastModifiedTime(other, old);
        try (FileChannel ch = FileChannel.open(locked, StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            TokenCache.open(source(dir, text(3)), "tok", new Lines(), options(cache)).close();
        }
        assertFalse(Files.exists(dead));
        assertTrue(Files.exists(fresh), "changed within the minute: its writer may be alive");
        assertTrue(Files.exists(locked), "locked: its writer is alive");
        assertTrue(Files.exists(other));
    }

    @Test
    void aSourceThatChangesWhileTokenizedIsRefused(@TempDir Path dir) throws IOException {
        Path src = source(dir, text(500));
        Path cache = dir.resolve("cache");
        Lines changing = new Lines();
        changing.whileReading = () -> {
            try {
                Files.setLastModifiedTime(src, FileTime.fromMillis(1_000_000));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> TokenCache.open(src, "tok", changing, options(cache)));
        assertEquals(src + ": changed while it was being tokenized; run again", e.getMessage());
        assertEquals(List.of(), tokenFiles(cache));
    }

    @Test
    void aBadRecordStopsWithItsLineAndLeavesNoCache(@TempDir Path dir) throws IOException {
        Path src = source(dir, text(300) + "bad\n" + text(300) + "bad\n");
        Path cache = dir.resolve("cache");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> TokenCache.open(src, "tok", new Lines(), options(cache)));
        assertEquals("data.txt:301: bad row", e.getMessage());
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(List.of(), s.toList(), "no cache and no temporary file");
        }
    }

    @Test
    void unusablePathsAreOneLine(@TempDir Path dir) throws IOException {
        Path src = source(dir, text(3));
        Path notADir = Files.writeString(dir.resolve("file"), "x");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> TokenCache.open(src, "tok", new Lines(), options(notADir.resolve("sub"))));
        assertTrue(e.getMessage().startsWith("data.cache_dir " + notADir.resolve("sub") + ": cannot create the token cache folder"), e.getMessage());
        assertEquals(dir.resolve("missing.txt") + ": no such file",
                assertThrows(InvalidInputException.class, () -> TokenCache.open(dir.resolve("missing.txt"), "tok", new Lines(), options(dir))).getMessage());
    }
}
