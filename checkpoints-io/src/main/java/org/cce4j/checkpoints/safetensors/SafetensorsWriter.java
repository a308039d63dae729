package org.cce4j.checkpoints.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.DTypeConversion;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files the way the reference implementation does, byte for byte for the same
 * input: tensors laid out by descending dtype alignment, then by name; the header is compact JSON
 * ({@code __metadata__} first) padded with spaces to a multiple of 8 bytes, so that every tensor
 * starts 8-byte aligned in the file.
 * <p>
 * Streaming: the header is built from the entries' descriptions alone, then each tensor's bytes go
 * from its memory to the file in bounded chunks (converted on the way when asked), so writing never
 * holds a second copy of the model. The file appears under its name only when complete
 * ({@link AtomicFiles}).
 */
public final class SafetensorsWriter {
    private static final long CHUNK_BYTES = 64L << 20;
    private static final long CONVERT_CHUNK_ELEMENTS = 4L << 20;

    private SafetensorsWriter() {}

    /** Writes {@code entries} (any order) with {@code metadata} (may be empty) to {@code file}. */
    public static void write(Path file, Map<String, String> metadata, Collection<TensorEntry> entries) throws IOException {
        List<TensorEntry> ordered = layout(entries);
        byte[] header = header(metadata, ordered);
        AtomicFiles.write(file, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            AtomicFiles.writeFully(ch, len);
            AtomicFiles.writeFully(ch, ByteBuffer.wrap(header));
            for (TensorEntry e : ordered) writeData(ch, e);
        });
    }

    /** The order tensors take in the file: descending dtype (the reference's alignment order), then name. */
    public static List<TensorEntry> layout(Collection<TensorEntry> entries) {
        Set<String> seen = new HashSet<>();
        for (TensorEntry e : entries) {
            if (e.name().equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' cannot name a tensor");
            if (!seen.add(e.name())) throw new IllegalArgumentException("duplicate tensor name '" + e.name() + "'");
        }
        List<TensorEntry> ordered = new ArrayList<>(entries);
        ordered.sort(Comparator.comparing((TensorEntry e) -> e.dtype().ordinal()).reversed()
                .thenComparing(TensorEntry::name, SafetensorsWriter::compareCodePoints));
        return ordered;
    }

    /** The padded header bytes (without the 8-byte length) for entries already in file order. */
    public static byte[] header(Map<String, String> metadata, List<TensorEntry> ordered) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = HEADER_JSON.createGenerator(out)) {
            g.setCharacterEscapes(SerdeEscapes.INSTANCE);
            g.writeStartObject();
            if (metadata != null && !metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (var m : metadata.entrySet()) g.writeStringField(m.getKey(), m.getValue());
                g.writeEndObject();
            }
            long offset = 0;
            for (TensorEntry e : ordered) {
                g.writeObjectFieldStart(e.name());
                g.writeStringField("dtype", e.dtype().name());
                g.writeArrayFieldStart("shape");
                for (long d : e.shape()) g.writeNumber(d);
                g.writeEndArray();
                long end = Math.addExact(offset, e.fileBytes());
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(end);
                g.writeEndArray();
                g.writeEndObject();
                offset = end;
            }
            g.writeEndObject();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        int pad = (8 - out.size() % 8) % 8;
        for (int i = 0; i < pad; i++) out.write(' ');
        return out.toByteArray();
    }

    private static void writeData(FileChannel ch, TensorEntry e) throws IOException {
        if (e.sourceType() == null) {
            writeSegment(ch, e.source());
            return;
        }
        DType to = e.dtype().dtype();
        DType from = e.sourceType();
        long numel = e.numel();
        long chunk = Math.min(numel, CONVERT_CHUNK_ELEMENTS);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment buf = scratch.allocate(Math.max(1, chunk * to.byteSize()), 64);
            for (long i = 0; i < numel; i += chunk) {
                long n = Math.min(chunk, numel - i);
                MemorySegment src = e.source().asSlice(i * from.byteSize(), n * from.byteSize());
                MemorySegment dst = buf.asSlice(0, n * to.byteSize());
                DTypeConversion.convert(src, from, dst, to, n);
                writeSegment(ch, dst);
            }
        }
    }

    private static void writeSegment(FileChannel ch, MemorySegment seg) throws IOException {
        for (long off = 0; off < seg.byteSize(); off += CHUNK_BYTES) {
            long n = Math.min(CHUNK_BYTES, seg.byteSize() - off);
            AtomicFiles.writeFully(ch, seg.asSlice(off, n).asByteBuffer());
        }
    }

    /** UTF-8 byte order, which is code point order (String.compareTo compares UTF-16 units). */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    private static final JsonFactory HEADER_JSON = new JsonFactory();

    /** serde_json's escapes: \" \\ \b \f \n \r \t, other control characters as \\u00xx (lower-case hex), nothing else. */
    private static final class SerdeEscapes extends CharacterEscapes {
        static final SerdeEscapes INSTANCE = new SerdeEscapes();
        private final int[] table = standardAsciiEscapesForJSON();

        SerdeEscapes() {
            for (int c = 0; c < 32; c++) {
                if ("\b\f\n\r\t".indexOf(c) < 0) table[c] = ESCAPE_CUSTOM;
            }
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return table;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return new SerializedString(String.format("\\u%04x", ch));
        }
    }
}
