package org.cce4j.trainer.data.packing;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.TokenRows;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Rows read from a token file ({@link TokenFileFormat}) through a memory mapping: opening maps the
 * file and checks its header and index bounds; {@link #row} copies one row's ids (and labels) out of
 * the mapping. The dataset itself costs no heap and the operating system pages it in and out as the
 * epoch's order visits it, so a file of billions of tokens trains like one of thousands; shuffling is
 * by row index through the index. A mapped segment has 64-bit offsets (no 2 GiB limit of a
 * MappedByteBuffer). Thread-safe for reading; closing unmaps.
 */
public final class TokenFile implements TokenRows, AutoCloseable {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A file that is not a whole, valid token file (torn, truncated, of another version); the message says why. */
    public static final class Invalid extends IOException {
        public Invalid(String message) {
            super(message);
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment map;
    private final int rows;
    private final long tokens;
    private final long indexOffset;
    private final Map<String, String> metadata;

    private TokenFile(Path path, Arena arena, MemorySegment map, int rows, long tokens, long indexOffset, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.map = map;
        this.rows = rows;
        this.tokens = tokens;
        this.indexOffset = indexOffset;
        this.metadata = metadata;
    }

    /** Maps {@code file}; {@link Invalid} when it is not a whole token file of this version. */
    public static TokenFile open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            TokenFileFormat.Header h = readHeader(ch);
            check(h, size);
            MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            byte[] meta = map.asSlice(h.metadataOffset(), h.metadataLength()).toArray(ValueLayout.JAVA_BYTE);
            TokenFile f = new TokenFile(file, arena, map, (int) h.rows(), h.tokens(), h.indexOffset(), parseMetadata(meta));
            arena = null;
            return f;
        } finally {
            if (arena != null) arena.close();
        }
    }

    /** The metadata of {@code file} without mapping it ({@link Invalid} as {@link #open}). */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            TokenFileFormat.Header h = readHeader(ch);
            check(h, ch.size());
            ByteBuffer b = ByteBuffer.allocate((int) h.metadataLength());
            while (b.hasRemaining()) {
                if (ch.read(b, h.metadataOffset() + b.position()) < 0) throw new Invalid("cut short");
            }
            return parseMetadata(b.array());
        }
    }

    private static TokenFileFormat.Header readHeader(FileChannel ch) throws IOException {
        if (ch.size() < TokenFileFormat.HEADER_BYTES) throw new Invalid("shorter than a token file's header (" + ch.size() + " bytes)");
        ByteBuffer b = ByteBuffer.allocate(TokenFileFormat.HEADER_BYTES);
        while (b.hasRemaining()) {
            if (ch.read(b, b.position()) < 0) throw new Invalid("cut short");
        }
        return TokenFileFormat.Header.decode(b.flip());
    }

    private static void check(TokenFileFormat.Header h, long size) throws Invalid {
        if (h.fileLength() != size) throw new Invalid("the header says " + h.fileLength() + " bytes, the file has " + size + " (torn or cut short)");
        if (h.rows() < 0 || h.rows() >= Integer.MAX_VALUE) throw new Invalid("row count " + h.rows() + " out of range");
        if (h.indexOffset() < TokenFileFormat.HEADER_BYTES || h.indexOffset() % 8 != 0
                || h.indexOffset() + h.rows() * TokenFileFormat.ENTRY_BYTES > h.metadataOffset()
                || h.metadataLength() < 0 || h.metadataLength() > Integer.MAX_VALUE
                || h.metadataOffset() + h.metadataLength() != size) {
            throw new Invalid("inconsistent header (index at " + h.indexOffset() + ", metadata at " + h.metadataOffset() + ")");
        }
    }

    private static Map<String, String> parseMetadata(byte[] json) throws Invalid {
        try {
            return Map.copyOf(new ObjectMapper().readValue(json, new TypeReference<Map<String, String>>() {}));
        } catch (IOException e) {
            throw new Invalid("unreadable metadata: " + e.getMessage());
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public int size() {
        return rows;
    }

    /** All tokens of all rows. */
    public long tokens() {
        return tokens;
    }

    /** What the file was built from (for a cache: the source's key and the builder's report). */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public int length(int i) {
        return map.get(INT, entry(i) + 8);
    }

    /** Row {@code i}'s target count, from the index. */
    public int targets(int i) {
        return map.get(INT, entry(i) + 12);
    }

    /** Row {@code i}, copied out of the mapping; labels are the ids' array when the row has none of its own. */
    @Override
    public TokenRow row(int i) {
        long e = entry(i);
        long record = map.get(LONG, e), labelsAt = map.get(LONG, e + 16);
        int length = map.get(INT, e + 8), targets = map.get(INT, e + 12);
        if (length < 1 || record < TokenFileFormat.HEADER_BYTES || record + 4L * length > indexOffset
                || (labelsAt != TokenFileFormat.SHARED_LABELS && (labelsAt < TokenFileFormat.HEADER_BYTES || labelsAt + 4L * length > indexOffset))) {
            throw new IllegalStateException(path + ": index entry " + i + " points outside the file's records (the file is corrupt)");
        }
        int[] ids = new int[length];
        MemorySegment.copy(map, INT, record, ids, 0, length);
        int[] labels = ids;
        if (labelsAt != TokenFileFormat.SHARED_LABELS) {
            labels = new int[length];
            MemorySegment.copy(map, INT, labelsAt, labels, 0, length);
        }
        return new TokenRow(ids, labels, targets);
    }

    private long entry(int i) {
        if (i < 0 || i >= rows) throw new IndexOutOfBoundsException("row " + i + " of " + rows);
        return indexOffset + (long) i * TokenFileFormat.ENTRY_BYTES;
    }

    @Override
    public void close() {
        arena.close();
    }
}
