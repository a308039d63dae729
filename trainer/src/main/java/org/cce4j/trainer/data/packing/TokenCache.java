package org.cce4j.trainer.data.packing;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.Documents;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Tokenized sources, cached as token files so that a second run does not tokenize again:
 * <pre>
 *   try (TokenCache.Cached c = TokenCache.open(Path.of("data.jsonl"), tokenizationHash, builder, options)) {
 *       TokenRows rows = c.rows();     // mapped: no heap for the data
 *   }
 * </pre>
 * {@link #open} maps the cached file of (the source's real path, size, mtime — for a folder, the bytes of
 * every file below it and the newest mtime below it; the tokenization's hash)
 * when one exists and is whole, and otherwise tokenizes the source with the {@link RowBuilder} through
 * the {@link TokenizePipeline} (parallel, in file order, with progress) into a new one, written
 * atomically: a torn file never carries a cache's name, and one that does not read back whole (cut
 * short, another version) is ignored and replaced. A source that changes while it is tokenized is
 * refused rather than cached under the wrong key.
 * <p>
 * Where: {@code data.cache_dir} when the config sets it, else {@code $CCE4J_TOKEN_CACHE}, else
 * {@code ~/.cache/cce4j/tokens} ({@link #defaultDir}) — the kernel cache's convention. Not the run folder
 * (every run would tokenize again) and not beside the source (often read-only, and datasets are shared).
 * Housekeeping: a temporary file whose writer died (its lock is free) is removed; when a source changed,
 * its caches for the old contents are removed once the new one is written. Caches of other
 * tokenizations of a source stay (switching back is common); removing the folder is always safe.
 */
public final class TokenCache {
    private static final long DEAD_TEMPORARY_AGE_MS = 60_000;

    private TokenCache() {}

    /**
     * @param dir      the cache folder (created when missing)
     * @param threads  tokenizing threads
     * @param progress where progress and cache messages go (null: nowhere)
     * @param terminal a progress bar (true) or plain lines (false)
     */
    public record Options(Path dir, int threads, PrintStream progress, boolean terminal) {
        public Options {
            if (dir == null) throw new IllegalArgumentException("a cache folder is required");
            if (threads < 1) throw new InvalidInputException("tokenizing threads must be >= 1, got " + threads);
        }

        /** {@link #defaultDir()}, every processor, plain lines on stderr. */
        public static Options defaults() {
            return new Options(defaultDir(), Runtime.getRuntime().availableProcessors(), System.err, false);
        }

        public Options withDir(Path d) {
            return new Options(d, threads, progress, terminal);
        }
    }

    /**
     * The rows of a source, mapped from its cache file.
     *
     * @param report    what the builder reported when it built the file (its {@link RowBuilder#report()})
     * @param tokenized true when this open tokenized the source, false when the cache was used
     */
    public record Cached(TokenFile rows, Map<String, String> report, boolean tokenized) implements AutoCloseable {
        /** Which consecutive rows came from one record of the source (the pieces of a record cut into several rows). */
        public Documents documents() {
            return Documents.decode(rows.metadata().get(DOCUMENTS));
        }

        @Override
        public void close() {
            rows.close();
        }
    }

    static final String REPORT = "report.";
    static final String DOCUMENTS = "cce4j.documents";

    /** The rows of one record are one document (the pieces of a split row); counted in file order. */
    private static final class DocumentsOfRecords {
        final Documents.Builder rows = new Documents.Builder();
        int next;

        void record(int count) {
            rows.add(next, count);
            next += count;
        }
    }

    /** {@code $CCE4J_TOKEN_CACHE}, else {@code ~/.cache/cce4j/tokens}. */
    public static Path defaultDir() {
        String env = System.getenv("CCE4J_TOKEN_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "cce4j", "tokens");
    }

    /** {@link #open(Path, String, RowBuilder, Options)} with {@link Options#defaults()}. */
    public static <R> Cached open(Path source, String tokenizationHash, RowBuilder<R> builder) throws IOException {
        return open(source, tokenizationHash, builder, Options.defaults());
    }

    /**
     * The rows of {@code source}: its valid cache file mapped, or the source tokenized into a new one.
     *
     * @param tokenizationHash a hash of the tokenizer and of every option that changes the rows (format,
     *                         chat template, seq_len and overflow, special tokens): a different one never
     *                         reuses these rows
     */
    public static <R> Cached open(Path source, String tokenizationHash, RowBuilder<R> builder, Options options) throws IOException {
        if (tokenizationHash == null || tokenizationHash.isBlank()) throw new IllegalArgumentException("a tokenization hash is required");
        CacheKey key = keyOf(source, tokenizationHash);
        Path dir = options.dir();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new InvalidInputException("data.cache_dir " + dir + ": cannot create the token cache folder (" + reason(e) + ")");
        }
        removeDeadTemporaries(dir);
        Path file = dir.resolve(key.fileName());
        if (Files.exists(file)) {
            try {
                TokenFile f = TokenFile.open(file);
                if (key.matches(f.metadata())) return new Cached(f, reportOf(f.metadata()), false);
                f.close();
                say(options, "token cache " + file + " was built from another source; tokenizing again");
            } catch (TokenFile.Invalid e) {
                say(options, "token cache " + file + " is not usable (" + e.getMessage() + "); tokenizing again");
            }
        }
        build(source, key, builder, options, file);
        CacheKey after = keyOf(source, tokenizationHash);
        if (!after.equals(key)) {
            Files.deleteIfExists(file);
            throw new InvalidInputException(source + ": changed while it was being tokenized; run again");
        }
        removeStale(dir, key, file);
        TokenFile f = TokenFile.open(file);
        return new Cached(f, reportOf(f.metadata()), true);
    }

    /** The cache file {@code open} would use for {@code source} now (for messages and tests). */
    public static Path fileFor(Path source, String tokenizationHash, Path dir) throws IOException {
        return dir.resolve(keyOf(source, tokenizationHash).fileName());
    }

    static CacheKey keyOf(Path source, String tokenizationHash) throws IOException {
        try {
            Path real = source.toRealPath();
            BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
            if (a.isDirectory()) return folderKey(real, tokenizationHash);
            return new CacheKey(real, a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS), tokenizationHash);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(source + ": no such file");
        }
    }

    /**
     * A folder's key: the bytes of every file below it and the newest modification time of anything
     * below it (a file written, added, removed or renamed changes one or the other).
     */
    private static CacheKey folderKey(Path folder, String tokenizationHash) throws IOException {
        long[] sizeAndTime = {0, Long.MIN_VALUE};
        try (Stream<Path> all = Files.walk(folder)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                if (a.isRegularFile()) sizeAndTime[0] += a.size();
                sizeAndTime[1] = Math.max(sizeAndTime[1], a.lastModifiedTime().to(TimeUnit.NANOSECONDS));
            }
        }
        return new CacheKey(folder, sizeAndTime[0], sizeAndTime[1], tokenizationHash);
    }

    private static <R> void build(Path source, CacheKey key, RowBuilder<R> builder, Options options, Path file) throws IOException {
        String name = source.getFileName() == null ? source.toString() : source.getFileName().toString();
        long[] done = new long[2];
        long t0 = System.nanoTime();
        try (TokenizeProgress progress = new TokenizeProgress(options.progress(), options.terminal(), name, key.size(), System::nanoTime)) {
            TokenFileWriter.write(file, w -> {
                DocumentsOfRecords documents = new DocumentsOfRecords();
                List<CountingInputStream> counted = new ArrayList<>();
                List<InputStream> opened = new ArrayList<>();
                RowBuilder.Opener opener = f -> {
                    InputStream raw = Files.newInputStream(f);
                    opened.add(raw);
                    CountingInputStream c = new CountingInputStream(raw);
                    counted.add(c);
                    return new BufferedInputStream(c, 1 << 16);
                };
                try {
                    TokenizePipeline.run(builder.records(key.source(), opener), builder::rows, options.threads(), w::add, documents::record,
                            () -> progress.update(counted.stream().mapToLong(CountingInputStream::count).sum(), w.rows()));
                } finally {
                    for (InputStream in : opened) in.close();
                }
                done[0] = w.rows();
                done[1] = w.tokens();
                Map<String, String> meta = new LinkedHashMap<>(key.metadata());
                builder.report().forEach((k, v) -> meta.put(REPORT + k, v));
                meta.put("cce4j.rows", Long.toString(w.rows()));
                meta.put(DOCUMENTS, documents.rows.build().encode());
                meta.put("cce4j.tokens", Long.toString(w.tokens()));
                return meta;
            });
        } catch (AccessDeniedException e) {
            throw new InvalidInputException("data.cache_dir " + options.dir() + ": cannot write the token cache (permission denied)");
        } catch (FileSystemException e) {
            throw new InvalidInputException("data.cache_dir " + options.dir() + ": cannot write the token cache (" + reason(e) + ")");
        }
        say(options, String.format(Locale.ROOT, "tokenized %s: %,d rows, %,d tokens in %.1fs; cached as %s", name, done[0], done[1],
                (System.nanoTime() - t0) / 1e9, file));
    }

    private static Map<String, String> reportOf(Map<String, String> metadata) {
        Map<String, String> r = new LinkedHashMap<>();
        metadata.entrySet().stream().filter(e -> e.getKey().startsWith(REPORT)).sorted(Map.Entry.comparingByKey())
                .forEach(e -> r.put(e.getKey().substring(REPORT.length()), e.getValue()));
        return r;
    }

    /**
     * Removes temporary cache files (AtomicFiles names them {@code .NAME.tokens.tmp-*}) whose writer is
     * gone: unchanged for a minute and not locked (a live writer holds a lock on its file, released by
     * the system when its process dies).
     */
    static void removeDeadTemporaries(Path dir) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, ".*.tokens.tmp-*")) {
            for (Path p : files) {
                try {
                    if (System.currentTimeMillis() - Files.getLastModifiedTime(p).toMillis() < DEAD_TEMPORARY_AGE_MS) continue;
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE); FileLock lock = ch.tryLock()) {
                        if (lock != null) Files.deleteIfExists(p);
                    }
                } catch (OverlappingFileLockException | IOException e) {
                    // held by this JVM, or gone, or not ours to remove: leave it
                }
            }
        } catch (IOException e) {
            // an unreadable folder only keeps its leftovers
        }
    }

    /** Removes the caches of {@code key}'s source built from other contents of it (another size or mtime). */
    static void removeStale(Path dir, CacheKey key, Path keep) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, globEscape(CacheKey.prefix(key.source())) + "*.tokens")) {
            for (Path p : files) {
                if (p.equals(keep)) continue;
                try {
                    Map<String, String> m = TokenFile.readMetadata(p);
                    boolean sameSource = key.source().toString().equals(m.get(CacheKey.SOURCE));
                    boolean sameContents = Long.toString(key.size()).equals(m.get(CacheKey.SIZE))
                            && Long.toString(key.mtimeNanos()).equals(m.get(CacheKey.MTIME));
                    if (sameSource && !sameContents) Files.deleteIfExists(p);
                } catch (IOException e) {
                    // unreadable or of another version: not known to be stale, so kept
                }
            }
        } catch (IOException e) {
            // nothing removed
        }
    }

    private static String globEscape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if ("*?[]{}\\".indexOf(c) >= 0) sb.append('\\');
            sb.append(c);
        }
        return sb.toString();
    }

    private static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        return e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "");
    }

    private static void say(Options options, String line) {
        if (options.progress() != null) {
            options.progress().println(line);
            options.progress().flush();
        }
    }
}
