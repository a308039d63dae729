package org.cce4j.trainer.data.packing;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.TokenRow;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a token file ({@link TokenFileFormat}) as rows arrive, in constant memory: records go to the
 * file through a 1 MiB buffer, index entries to an unnamed side file (removed from its folder as soon
 * as it is open, so a crash leaves nothing behind) that is appended when the rows end; the header goes
 * last. {@link #write} does it through {@link AtomicFiles}: a temporary file, fsynced, renamed over the
 * target, so the target is either the old file or the whole new one. While it is written the temporary
 * file is locked, which tells {@link TokenCache} a live writer's file from a dead one's.
 */
public final class TokenFileWriter {
    private static final int BUFFER_BYTES = 1 << 20;

    /** What fills the file: adds its rows and returns the metadata to store with them. */
    @FunctionalInterface
    public interface Fill {
        Map<String, String> fill(TokenFileWriter writer) throws IOException;
    }

    private final FileChannel out;
    private final FileChannel index;
    private final ByteBuffer records = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer entries = ByteBuffer.allocateDirect(BUFFER_BYTES - BUFFER_BYTES % TokenFileFormat.ENTRY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long position;      // where the records buffer's first byte goes
    private long rows;
    private long tokens;

    private TokenFileWriter(FileChannel out, FileChannel index, long firstRecord) {
        this.out = out;
        this.index = index;
        this.position = firstRecord;
    }

    /** Writes {@code target} atomically from what {@code fill} adds. */
    public static void write(Path target, Fill fill) throws IOException {
        write(target, fill, TokenFileFormat.HEADER_BYTES);
    }

    /**
     * As {@link #write(Path, Fill)}, with the first record at {@code firstRecord} (>= 64): tests start it past
     * 4 GiB, leaving a hole, to read offsets no int can hold without writing gigabytes.
     */
    static void write(Path target, Fill fill, long firstRecord) throws IOException {
        if (firstRecord < TokenFileFormat.HEADER_BYTES || firstRecord % 4 != 0) throw new IllegalArgumentException("first record at " + firstRecord);
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        AtomicFiles.write(target, ch -> {
            try (var lock = ch.lock(); FileChannel index = sideFile(dir)) {
                TokenFileWriter w = new TokenFileWriter(ch, index, firstRecord);
                Map<String, String> metadata = fill.fill(w);
                w.finish(metadata);
            }
        });
    }

    /** A read-write file in {@code dir} with no name: unlinked once open where the system allows, else deleted on close. */
    private static FileChannel sideFile(Path dir) throws IOException {
        Path p = Files.createTempFile(dir, ".index-", ".tmp");
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // Windows cannot remove an open file: DELETE_ON_CLOSE does it
        }
        return ch;
    }

    /** Appends a row: at least one token, labels as many as ids (the ids' own array: no labels stored). */
    public void add(TokenRow row) throws IOException {
        int[] ids = row.inputIds(), labels = row.labels();
        if (ids.length < 1) throw new IllegalArgumentException("row " + rows + " has no tokens");
        if (labels.length != ids.length) throw new IllegalArgumentException("row " + rows + ": " + labels.length + " labels for " + ids.length + " ids");
        if (row.targets() != TokenRow.countTargets(labels)) {
            throw new IllegalArgumentException("row " + rows + " says " + row.targets() + " targets, its labels have " + TokenRow.countTargets(labels));
        }
        if (rows == Integer.MAX_VALUE - 1) throw new InvalidInputException("more than " + (Integer.MAX_VALUE - 1) + " rows in one token file");
        boolean shared = labels == ids || Arrays.equals(labels, ids);
        long record = position + records.position();
        putInts(ids);
        long labelsAt = TokenFileFormat.SHARED_LABELS;
        if (!shared) {
            labelsAt = position + records.position();
            putInts(labels);
        }
        if (entries.remaining() < TokenFileFormat.ENTRY_BYTES) flushEntries();
        entries.putLong(record).putInt(ids.length).putInt(row.targets()).putLong(labelsAt);
        rows++;
        tokens += ids.length;
    }

    public long rows() {
        return rows;
    }

    public long tokens() {
        return tokens;
    }

    private void putInts(int[] v) throws IOException {
        for (int i = 0; i < v.length; ) {
            if (records.remaining() < 4) flushRecords();
            int n = Math.min(v.length - i, records.remaining() / 4);
            records.asIntBuffer().put(v, i, n);
            records.position(records.position() + 4 * n);
            i += n;
        }
    }

    private void flushRecords() throws IOException {
        records.flip();
        while (records.hasRemaining()) position += out.write(records, position);
        records.clear();
    }

    private void flushEntries() throws IOException {
        entries.flip();
        while (entries.hasRemaining()) index.write(entries);
        entries.clear();
    }

    /** Index, metadata, then the header that makes the file valid. */
    private void finish(Map<String, String> metadata) throws IOException {
        flushRecords();
        flushEntries();
        long indexOffset = (position + 7) & ~7L;
        long indexBytes = index.size();
        if (indexBytes != rows * TokenFileFormat.ENTRY_BYTES) throw new IllegalStateException("index of " + indexBytes + " bytes for " + rows + " rows");
        for (long done = 0; done < indexBytes; ) {
            index.position(done);
            long n = out.transferFrom(index, indexOffset + done, indexBytes - done);
            if (n <= 0) throw new IOException("could not copy the index into the token file");
            done += n;
        }
        byte[] meta = new ObjectMapper().writeValueAsBytes(new TreeMap<>(metadata));
        long metadataOffset = indexOffset + indexBytes;
        writeFully(ByteBuffer.wrap(meta), metadataOffset);
        long length = metadataOffset + meta.length;
        writeFully(new TokenFileFormat.Header(rows, tokens, indexOffset, metadataOffset, meta.length, length).encode(), 0);
    }

    private void writeFully(ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) at += out.write(b, at);
    }
}
