package org.cce4j.checkpoints;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where {@link AtomicFiles} writes land: the rename protocol for regular files (permissions as the
 * file had them, or as a plain new file gets them), symbolic links followed, devices, FIFOs and open
 * descriptors written through instead of replaced, a directory refused, nothing left behind on failure.
 */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private static Set<PosixFilePermission> permissions(Path p) throws IOException {
        return Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
    }

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp")).toList();
        }
    }

    @Test
    void aNewFileGetsThePermissionsOfAPlainNewFile() throws Exception {
        Path plain = Files.createFile(dir.resolve("plain"));            // 0666 less the umask
        Path written = dir.resolve("written");
        AtomicFiles.writeString(written, "x");
        assertEquals(PosixFilePermissions.toString(permissions(plain)), PosixFilePermissions.toString(permissions(written)));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void aReplacedFileKeepsItsPermissions() throws Exception {
        Path f = dir.resolve("kept");
        Files.writeString(f, "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        AtomicFiles.writeString(f, "new");
        assertEquals("new", Files.readString(f));
        assertEquals("rw-r-----", PosixFilePermissions.toString(permissions(f)));
    }

    @Test
    void aSymbolicLinkIsFollowedAndItsTargetReplaced() throws Exception {
        Files.createDirectories(dir.resolve("real"));
        Path target = Files.writeString(dir.resolve("real/target.txt"), "old");
        Path hop = Files.createSymbolicLink(dir.resolve("real/hop"), Path.of("target.txt"));        // relative to real/
        Path link = Files.createSymbolicLink(dir.resolve("link"), Path.of("real/hop"));              // a chain of two
        Object inode = Files.readAttributes(target, BasicFileAttributes.class).fileKey();
        AtomicFiles.writeString(link, "new");
        assertTrue(Files.isSymbolicLink(link) && Files.isSymbolicLink(hop), "the links stay links");
        assertEquals(Path.of("real/hop"), Files.readSymbolicLink(link));
        assertEquals("new", Files.readString(target));
        assertTrue(!inode.equals(Files.readAttributes(target, BasicFileAttributes.class).fileKey()), "the target was replaced by a rename");
        assertEquals(List.of(), leftovers());
    }

    @Test
    void aDanglingSymbolicLinkCreatesItsTarget() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("sub/created.txt"));
        AtomicFiles.writeString(link, "made");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("made", Files.readString(dir.resolve("sub/created.txt")));
    }

    @Test
    void aFifoIsWrittenThroughNotReplaced() throws Exception {
        Path fifo = dir.resolve("fifo");
        int rc;
        try {
            rc = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor();
        } catch (IOException e) {
            rc = -1;
        }
        Assumptions.assumeTrue(rc == 0, "mkfifo is not available here; skipping the FIFO case");
        // each end on its own daemon thread: opening a FIFO blocks until the other end opens it
        Executor threads = task -> Thread.ofPlatform().daemon().start(task);
        CompletableFuture<String> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return Files.readString(fifo);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, threads);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                AtomicFiles.writeString(fifo, "through the pipe\n");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, threads);
        writer.get(20, TimeUnit.SECONDS);
        assertEquals("through the pipe\n", reader.get(20, TimeUnit.SECONDS));
        assertTrue(Files.readAttributes(fifo, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(), "still a FIFO");
        assertEquals(List.of(), leftovers());
    }

    @Test
    void aDeviceIsWrittenThroughNotReplaced() throws Exception {
        // a null device of our own (mknod needs root): never /dev/null itself, which a broken writer would replace
        Path device = dir.resolve("null");
        int rc;
        try {
            rc = new ProcessBuilder("mknod", device.toString(), "c", "1", "3").redirectErrorStream(true).start().waitFor();
        } catch (IOException e) {
            rc = -1;
        }
        Assumptions.assumeTrue(rc == 0 && Files.exists(device), "cannot make a device node here (not root); the FIFO case covers writing through");
        AtomicFiles.writeBytes(device, new byte[1000]);
        assertTrue(Files.readAttributes(device, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(), "still a device");
        assertEquals(List.of(), leftovers());
    }

    @Test
    void anOpenDescriptorIsAppendedTo() throws Exception {
        Path file = Files.writeString(dir.resolve("log.txt"), "");
        try (FileOutputStream open = new FileOutputStream(file.toFile(), true)) {
            open.write("first\n".getBytes(StandardCharsets.UTF_8));
            open.flush();
            Path descriptor = descriptorOf(file);
            Object inode = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            AtomicFiles.writeString(descriptor, "second\n");     // as `cmd --output /dev/stdout >> log.txt` does
            open.write("third\n".getBytes(StandardCharsets.UTF_8));
            assertEquals(inode, Files.readAttributes(file, BasicFileAttributes.class).fileKey(), "the same file, not a replacement");
        }
        assertEquals("first\nsecond\nthird\n", Files.readString(file));
    }

    /** /proc/self/fd/N for the descriptor this process has open on {@code file}. */
    private static Path descriptorOf(Path file) throws IOException {
        Path fds = Path.of("/proc/self/fd");
        Assumptions.assumeTrue(Files.isDirectory(fds), "no /proc/self/fd here");
        Path real = file.toRealPath();
        try (Stream<Path> s = Files.list(fds)) {
            for (Path fd : s.toList()) {
                try {
                    if (Path.of(fds.toString(), fd.getFileName().toString()).toRealPath().equals(real)) return fd;
                } catch (IOException e) {
                    // pipes, sockets, closed descriptors
                }
            }
        }
        throw new AssertionError("no descriptor of this process is open on " + file);
    }

    @Test
    void aDirectoryIsRefusedAndLeftAlone() throws Exception {
        Path empty = Files.createDirectory(dir.resolve("out"));
        FileSystemException e = assertThrows(FileSystemException.class, () -> AtomicFiles.writeString(empty, "x"));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        assertTrue(Files.isDirectory(empty));
    }

    @Test
    void aFailingBodyLeavesTheOldFileAndNoTemporaryFile() throws Exception {
        Path f = Files.writeString(dir.resolve("keep.txt"), "old");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
            throw new IOException("disk full");
        }));
        assertEquals("old", Files.readString(f));
        assertEquals(List.of(), leftovers());
    }
}
