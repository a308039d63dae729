package org.cce4j.checkpoints.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, including ones that lie, for the validation tests. */
final class RawFiles {
    private RawFiles() {}

    /** A file whose length field is the header's true length. */
    static Path write(Path file, String header, int dataBytes) throws IOException {
        return write(file, header.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    static Path write(Path file, byte[] header, int dataBytes) throws IOException {
        return writeWithLength(file, header.length, header, dataBytes);
    }

    /** A file whose length field says {@code declaredLength}, whatever follows. */
    static Path writeWithLength(Path file, long declaredLength, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(header);
        for (int i = 0; i < dataBytes; i++) b.put((byte) i);
        Files.write(file, b.array());
        return file;
    }
}
