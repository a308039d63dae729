package org.cce4j.checkpoints;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.regex.Pattern;

/**
 * Where a write to a path lands, decided before anything is written. The temporary-file-and-rename
 * protocol ({@link AtomicFiles}) is for regular files only, so: a symbolic link is followed (its
 * target is replaced and the link stays a link); a device or a FIFO is written through (renaming over
 * /dev/stdout would replace it with a file); a link to one of this process's open descriptors
 * (/dev/stdout → /proc/self/fd/1) is written through appending, which keeps a shell's {@code >} and
 * {@code >>} meaning what they say even when the descriptor is a regular file; a directory is refused.
 */
public record OutputTarget(Kind kind, Path path) {
    public enum Kind {
        /** A regular file, or nothing yet: written to a temporary name and renamed over {@link #path}. */
        REGULAR,
        /** A device or a FIFO: opened and written in place. */
        SPECIAL,
        /** An open descriptor of this process (/proc/self/fd/N): opened in append mode and written in place. */
        DESCRIPTOR
    }

    private static final int MAX_LINKS = 40;
    /** /proc/PID/fd, /proc/PID/task/TID/fd: the folders whose links are descriptors, not paths to follow. */
    private static final Pattern DESCRIPTOR_FOLDER = Pattern.compile("/proc/(?:[^/]+/)+fd");

    /** Resolves {@code path}: a directory, or a loop of links, is a {@link FileSystemException} naming it. */
    public static OutputTarget of(Path path) throws IOException {
        Path p = path.toAbsolutePath();
        for (int hops = 0; ; hops++) {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return new OutputTarget(Kind.REGULAR, p);
            }
            if (a.isSymbolicLink()) {
                if (hops == MAX_LINKS) throw new FileSystemException(path.toString(), null, "too many levels of symbolic links");
                Path folder = p.getParent().toRealPath();
                if (DESCRIPTOR_FOLDER.matcher(folder.toString()).matches()) return new OutputTarget(Kind.DESCRIPTOR, p);
                p = folder.resolve(Files.readSymbolicLink(p));
                continue;
            }
            if (a.isDirectory()) throw new FileSystemException(path.toString(), null, "is a directory");
            return new OutputTarget(a.isRegularFile() ? Kind.REGULAR : Kind.SPECIAL, p);
        }
    }
}
