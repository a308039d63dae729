package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.TokenRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mapped token store: rows written and read back exactly (ids, labels of their own or shared,
 * targets, lengths, metadata), offsets past 4 GiB (a sparse hole before the first record, so no int
 * offset survives), and files that are not whole (cut short, no header, another version) refused.
 */
class TokenFileTest {

    static List<TokenRow> randomRows(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<TokenRow> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + r.nextInt(40);
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) ids[t] = r.nextInt(1 << 20);
            int[] labels = ids;
            if (i % 3 == 0) {
                labels = ids.clone();
                for (int t = 0; t < Math.min(len, 4); t++) labels[t] = -100;
            }
            rows.add(new TokenRow(ids, labels, TokenRow.countTargets(labels)));
        }
        return rows;
    }

    static void write(Path file, List<TokenRow> rows, long firstRecord) throws IOException {
        TokenFileWriter.write(file, w -> {
            for (TokenRow row : rows) w.add(row);
            return Map.of("what", "test rows");
        }, firstRecord);
    }

    private static void assertRows(List<TokenRow> expected, TokenFile f) {
        assertEquals(expected.size(), f.size());
        long tokens = 0;
        for (int i = 0; i < expected.size(); i++) {
            TokenRow e = expected.get(i), a = f.row(i);
            assertArrayEquals(e.inputIds(), a.inputIds(), "ids of row " + i);
            assertArrayEquals(e.labels(), a.labels(), "labels of row " + i);
            assertEquals(e.targets(), a.targets(), "targets of row " + i);
            assertEquals(e.length(), f.length(i));
            assertEquals(e.targets(), f.targets(i));
            if (e.labels() == e.inputIds()) assertSame(a.inputIds(), a.labels(), "row " + i + " shares its labels");
            tokens += e.length();
        }
        assertEquals(tokens, f.tokens());
    }

    @Test
    void rowsRoundTrip(@TempDir Path dir) throws IOException {
        List<TokenRow> rows = randomRows(5000, 1);
        Path file = dir.resolve("rows.tokens");
        write(file, rows, 64);
        try (TokenFile f = TokenFile.open(file)) {
            assertRows(rows, f);
            assertEquals("test rows", f.metadata().get("what"));
            assertThrows(IndexOutOfBoundsException.class, () -> f.row(5000));
        }
        assertEquals(Map.of("what", "test rows"), TokenFile.readMetadata(file));
        // only the ids of shared rows and both arrays of the others, 4 bytes each, plus the index: nothing else grows
        long ints = rows.stream().mapToLong(r -> r.labels() == r.inputIds() ? r.length() : 2L * r.length()).sum();
        assertTrue(Files.size(file) < 64 + 4 * ints + 8 + 24L * rows.size() + 100, "file of " + Files.size(file) + " bytes");
    }

    @Test
    void offsetsPastFourGibibytesAreRead(@TempDir Path dir) throws IOException {
        // the records start at 5 GiB + 4: a hole the file system does not store; every offset needs more than 32 bits
        long first = (5L << 30) + 4;
        List<TokenRow> rows = randomRows(300, 2);
        Path file = dir.resolve("far.tokens");
        write(file, rows, first);
        assertTrue(Files.size(file) > first, "the file reaches past 5 GiB");
        try (TokenFile f = TokenFile.open(file)) {
            assertRows(rows, f);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer entry = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer header = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(header, 0);
            ch.read(entry, header.getLong(32)); // the index entry of row 0
            assertEquals(first, entry.getLong(0), "row 0's record offset as stored");
        }
    }

    @Test
    void aFileThatIsNotWholeIsRefused(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("rows.tokens");
        write(file, randomRows(50, 3), 64);
        long size = Files.size(file);

        Path cut = Files.copy(file, dir.resolve("cut.tokens"));
        try (RandomAccessFile raf = new RandomAccessFile(cut.toFile(), "rw")) {
            raf.setLength(size - 1);
        }
        TokenFile.Invalid e = assertThrows(TokenFile.Invalid.class, () -> TokenFile.open(cut));
        assertEquals("the header says " + size + " bytes, the file has " + (size - 1) + " (torn or cut short)", e.getMessage());

        Path noHeader = Files.copy(file, dir.resolve("noheader.tokens"));
        try (FileChannel ch = FileChannel.open(noHeader, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(64), 0); // the header is written last: a file that never got one
        }
        assertTrue(assertThrows(TokenFile.Invalid.class, () -> TokenFile.open(noHeader)).getMessage().startsWith("not a token file"));

        Path version = Files.copy(file, dir.resolve("version.tokens"));
        try (FileChannel ch = FileChannel.open(version, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 99), 8);
        }
        assertEquals("token file version 99, this build reads 1", assertThrows(TokenFile.Invalid.class, () -> TokenFile.open(version)).getMessage());

        Path tiny = Files.write(dir.resolve("tiny.tokens"), new byte[10]);
        assertThrows(TokenFile.Invalid.class, () -> TokenFile.open(tiny));
    }

    @Test
    void aFailedWriteLeavesNoFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("rows.tokens");
        assertThrows(IllegalStateException.class, () -> TokenFileWriter.write(file, w -> {
            w.add(randomRows(1, 4).get(0));
            throw new IllegalStateException("builder failed");
        }));
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void inconsistentRowsAreRefused(@TempDir Path dir) {
        Path file = dir.resolve("rows.tokens");
        assertThrows(IllegalArgumentException.class, () -> TokenFileWriter.write(file, w -> {
            w.add(new TokenRow(new int[] {1, 2, 3}, new int[] {1, 2, 3}, 5)); // 2 targets, not 5
            return Map.of();
        }));
        assertThrows(IllegalArgumentException.class, () -> TokenFileWriter.write(file, w -> {
            w.add(new TokenRow(new int[] {1, 2}, new int[] {1}, 0));
            return Map.of();
        }));
    }
}
