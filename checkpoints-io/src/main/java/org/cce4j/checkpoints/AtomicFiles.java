package org.cce4j.checkpoints;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that a crash never leaves a half-written file under its final name: the bytes
 * go to a hidden temporary file beside it, are fsynced, and the temporary file is renamed over
 * the target (atomic on POSIX file systems); then the directory is fsynced so the rename itself
 * survives a power loss. On failure the temporary file is removed and the old file is untouched.
 * A replaced file keeps its permissions; a new one gets those of any new file (0666 less the umask).
 * <p>
 * The protocol is for regular files: {@link OutputTarget} follows symbolic links to the file they
 * name, and devices, FIFOs and open descriptors (/dev/stdout) are written through, not replaced.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** What fills the temporary file. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel channel) throws IOException;
    }

    public static void write(Path target, Body body) throws IOException {
        OutputTarget to = OutputTarget.of(target);
        switch (to.kind()) {
            case REGULAR -> replace(to.path(), body);
            case SPECIAL -> writeThrough(to.path(), body, StandardOpenOption.WRITE);
            case DESCRIPTOR -> writeThrough(to.path(), body, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        }
    }

    private static void replace(Path file, Body body) throws IOException {
        Path dir = file.getParent();
        Files.createDirectories(dir);
        Set<PosixFilePermission> keep = permissionsOf(file);
        Path temp = dir.resolve("." + file.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                if (keep != null) Files.setPosixFilePermissions(temp, keep);
                body.write(ch);
                ch.force(true);
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
            syncDirectory(dir);
        } finally {
            if (!done) Files.deleteIfExists(temp);
        }
    }

    /** A device, a FIFO or a descriptor: there is no file to rename over, and no fsync to ask for. */
    private static void writeThrough(Path path, Body body, StandardOpenOption... options) throws IOException {
        try (FileChannel ch = FileChannel.open(path, options)) {
            body.write(ch);
        }
    }

    /** The permissions of an existing file, to give its replacement; null for a new file or a non-POSIX file system. */
    private static Set<PosixFilePermission> permissionsOf(Path file) throws IOException {
        try {
            return Files.getPosixFilePermissions(file);
        } catch (NoSuchFileException | UnsupportedOperationException e) {
            return null;
        }
    }

    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        write(target, ch -> writeFully(ch, ByteBuffer.wrap(bytes)));
    }

    public static void writeString(Path target, String text) throws IOException {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    public static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /** fsync of a directory: makes renames and new entries in it durable (a no-op where unsupported). */
    public static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Some file systems (and Windows) cannot open or sync a directory; the rename stands anyway.
        }
    }
}
