package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.TokenRow;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * How a source file becomes rows, as {@link TokenCache} runs it: the source is cut into records on one
 * thread, in file order (cheap: reading lines), and each record is tokenized on a worker thread (the
 * expensive part). The formats package implements it for text, prompt/completion, chat and alpaca rows.
 *
 * @param <R> a record of the source: a line and its number, say
 */
public interface RowBuilder<R> {
    /**
     * The source's records in file order, read from {@code source} (the cache opens the file and counts
     * the bytes read, for the progress bar). An I/O error while iterating is an UncheckedIOException.
     */
    Iterator<R> records(InputStream source) throws IOException;

    /** Opens one file of the source for reading, its bytes counted for the progress bar; the cache closes it. */
    @FunctionalInterface
    interface Opener {
        InputStream open(Path file) throws IOException;
    }

    /**
     * The records of {@code source}, a file or (for a builder that reads folders) a folder, read from
     * the files {@code opener} opens. The default opens the file and reads it with {@link #records(InputStream)}.
     */
    default Iterator<R> records(Path source, Opener opener) throws IOException {
        return records(opener.open(source));
    }

    /**
     * The rows of one record: none (a record skipped), one, or several (a long text cut at seq_len),
     * each of at most seq_len tokens and at least one target. Called from several threads at once. A
     * bad record throws (InvalidInputException with {@code file:line}); the first bad record in file
     * order is the one reported.
     */
    List<TokenRow> rows(R record);

    /**
     * After the last record: what building did (rows, truncated, skipped ...), stored in the cache's
     * metadata and handed back by every later {@link TokenCache#open} of it, through {@link TokenFile#metadata()}.
     */
    default Map<String, String> report() {
        return Map.of();
    }
}
