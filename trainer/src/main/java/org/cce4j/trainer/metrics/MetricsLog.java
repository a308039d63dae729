package org.cce4j.trainer.metrics;

import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.core.InvalidInputException;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The run folder's metrics.jsonl: one {@link MetricsRecord} per line, appended as the run goes.
 *
 * <p>Each line goes to the file in one unbuffered write, so a reader (or a kill -9) sees whole lines
 * and at worst one torn last line without its newline; {@link #sync()} makes everything written so far
 * durable and is called at each checkpoint. A line is a record only once its newline is there: a torn
 * tail is ignored by {@link #read} and dropped by {@link #resume}.
 *
 * <p>Resuming from the checkpoint at step N keeps exactly the lines with step <= N, byte for byte,
 * so that the resumed run ends with the file an uninterrupted run would have written. The kept lines
 * are written to a temporary file, fsynced and renamed over the log ({@link AtomicFiles}): a crash
 * during the truncation leaves either the old file or the new one, never a half-written one.
 *
 * <p>Not thread-safe: the training loop's thread owns it.
 */
public final class MetricsLog implements Closeable {
    private final Path path;
    private final FileChannel channel;

    private MetricsLog(Path path) throws IOException {
        this.path = path;
        this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        AtomicFiles.syncDirectory(path.toAbsolutePath().getParent());
    }

    /** A new run's log. An existing non-empty file is refused: it belongs to another run (resume it instead). */
    public static MetricsLog create(Path path) throws IOException {
        if (Files.exists(path) && Files.size(path) > 0) {
            throw new InvalidInputException(path + ": already exists with " + Files.size(path)
                    + " bytes of metrics; resume that run or choose another output folder");
        }
        Files.createDirectories(path.toAbsolutePath().getParent());
        return new MetricsLog(path);
    }

    /**
     * A resumed run's log: keeps the records with {@code step <= lastStep} (every other line, and a
     * torn last line, is dropped), then appends. A missing file starts empty.
     */
    public static MetricsLog resume(Path path, long lastStep) throws IOException {
        if (Files.exists(path)) {
            byte[] bytes = Files.readAllBytes(path);
            List<Line> lines = lines(path, bytes);
            ByteArrayOutputStream kept = new ByteArrayOutputStream(bytes.length);
            for (Line line : lines) {
                if (line.record().step() <= lastStep) kept.write(bytes, line.start(), line.end() - line.start());
            }
            if (kept.size() != bytes.length) {
                byte[] keptBytes = kept.toByteArray();
                AtomicFiles.write(path, ch -> AtomicFiles.writeFully(ch, ByteBuffer.wrap(keptBytes)));
            }
        } else {
            Files.createDirectories(path.toAbsolutePath().getParent());
        }
        return new MetricsLog(path);
    }

    /** Every complete record in file order (a torn last line, as a running or killed run may leave, is ignored). */
    public static List<MetricsRecord> read(Path path) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(path + ": no such file");
        }
        List<MetricsRecord> records = new ArrayList<>();
        for (Line line : lines(path, bytes)) records.add(line.record());
        return records;
    }

    public Path path() {
        return path;
    }

    /** Writes the record as one line; it is in the file (not yet necessarily on disk) when this returns. */
    public void append(MetricsRecord record) throws IOException {
        byte[] line = (record.toJson() + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFiles.writeFully(channel, ByteBuffer.wrap(line));
    }

    /** fsync: every line appended so far survives a crash or power loss. */
    public void sync() throws IOException {
        channel.force(true);
    }

    /** Syncs and closes. */
    @Override
    public void close() throws IOException {
        if (!channel.isOpen()) return;
        try {
            sync();
        } finally {
            channel.close();
        }
    }

    /** A complete line: bytes [start, end) including its newline, and its record. */
    private record Line(int start, int end, MetricsRecord record) {}

    /** The complete lines of a log (blank lines skipped); a line that is not a record names the file and line. */
    private static List<Line> lines(Path path, byte[] bytes) {
        List<Line> lines = new ArrayList<>();
        int start = 0;
        int number = 1;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] != '\n') continue;
            String text = new String(bytes, start, i - start, StandardCharsets.UTF_8);
            if (!text.isBlank()) {
                try {
                    lines.add(new Line(start, i + 1, MetricsRecord.parse(text)));
                } catch (IllegalArgumentException e) {
                    throw new InvalidInputException(path + ", line " + number + ": " + e.getMessage());
                }
            }
            start = i + 1;
            number++;
        }
        // bytes [start, length) without a newline: a torn write, not a record
        return lines;
    }
}
