package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.RowCollector;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.packing.RowBuilder;
import org.cce4j.trainer.data.packing.TokenCache;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * {@link DatasetReader}'s rows through the token cache: the source is tokenized once, on worker
 * threads with progress, into a token file that later runs map instead of tokenizing again; the
 * report (rows, truncated, split, skipped) is stored in the file and read back, so a cached run
 * reports what the run that tokenized did. The rows equal DatasetReader's id for id and label for
 * label: the builders ({@link JsonlRowBuilder}, {@link TextRowBuilder}) run the same parsers,
 * encoders and length rules. The cache key holds everything that changes the rows: the source (its
 * real path, size and mtime; a folder's files), and {@link #tokenization}: the format, every option,
 * the vocabulary, and a digest of the tokenizer's and chat template's files.
 */
public final class CachedDatasetReader {
    /** Bumped when what the builders produce for the same inputs changes. */
    static final String VERSION = "cce4j-data-1";

    private CachedDatasetReader() {}

    /**
     * Reads {@code path} through the cache. {@code tokenizerDigest} is a digest of the files the
     * tokenizer and the chat template were loaded from ({@link #filesDigest}); a log line goes to
     * {@code cache.progress()} when the rows come from the cache.
     */
    public static LoadedDataset read(Path path, FormatOptions options, Tokenizer tokenizer, Supplier<ChatTemplate> template,
                                     String tokenizerDigest, TokenCache.Options cache) throws IOException {
        boolean text = TextFilesReader.isText(path);
        DataFormat format = options.format();
        boolean detected = format == null;
        if (text) {
            TextFilesReader.requireTextFormat(path, options);
            if (!Files.exists(path)) throw new InvalidInputException(path + ": no such file");
            format = DataFormat.TEXT;
        } else if (detected) {
            format = JsonlReader.detect(path);
        }
        if (tokenizer == null && format != DataFormat.TOKENS) {
            throw new InvalidInputException(path + ": text data needs the model's tokenizer (tokenizer.json in the model folder)");
        }
        RowBuilder<?> builder = text ? new TextRowBuilder(path, options, tokenizer)
                : new JsonlRowBuilder(path.toString(), format, detected, options, tokenizer, template);
        String hash = tokenization(path, options, format, detected, format == DataFormat.TOKENS ? "" : tokenizerDigest);
        TokenCache.Cached c = TokenCache.open(path, hash, builder, cache);
        FormatReport report;
        try {
            report = ReportCodec.decode(c.report());
        } catch (IllegalArgumentException e) {
            c.close();
            throw new IllegalStateException(c.rows().path() + ": the cached report is incomplete (" + e.getMessage() + "); remove the file", e);
        }
        if (report.rows().rows() == 0) {
            c.close();
            throw RowCollector.noRows(report.rows());
        }
        if (report.rows().rows() != c.rows().size()) {
            c.close();
            throw new IllegalStateException(c.rows().path() + ": the report says " + report.rows().rows() + " rows, the file has " + c.rows().size());
        }
        if (!c.tokenized() && cache.progress() != null) {
            PrintStream out = cache.progress();
            out.println(String.format(Locale.ROOT, "data: %,d rows from cache %s", c.rows().size(), c.rows().path()));
            out.flush();
        }
        return new LoadedDataset(c.rows(), report, c.documents(), c);
    }

    /** The tokenization's hash: every option that changes the rows, with the tokenizer's digest. */
    static String tokenization(Path path, FormatOptions o, DataFormat format, boolean detected, String tokenizerDigest) {
        RowOptions r = o.rows();
        List<String> parts = List.of(VERSION, "path=" + path, "format=" + format.key(), "detected=" + detected,
                "train_on=" + o.trainOn(), "text_split=" + o.textSplit(), "alpaca_style=" + o.alpacaStyle(), "add_eos=" + o.addEos(),
                "seq_len=" + r.seqLen(), "overflow=" + r.overflow(), "skip_bad_rows=" + r.skipBadRows(), "vocab=" + r.vocabSize(),
                "tokenizer=" + tokenizerDigest);
        return sha256(String.join("\n", parts).getBytes(StandardCharsets.UTF_8));
    }

    /** A digest of the names and bytes of the files that exist among {@code files} (the tokenizer's, the chat template). */
    public static String filesDigest(List<Path> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                if (f == null || !Files.isRegularFile(f)) continue;
                md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Files.readAllBytes(f));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + files, e);
        }
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
