package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * Reads a rows file: JSONL, one {@code {"input_ids": [...], "labels": [...]}} object per line
 * (labels optional, meaning the ids; other fields ignored), into {@link TokenRows}. Every line is
 * checked (see {@link BadRow} for the kinds and their order); a bad line stops the read with
 * {@code file:line: what} as an {@link InvalidInputException}, or with skip_bad_rows is skipped and
 * counted. Rows are then cut to seq_len (counted), or refused with overflow = error; a row must keep
 * at least one target after that. Row i of the result is the i-th line kept.
 */
public final class RowFileReader {

    /** The rows read, and what reading them did. */
    public record LoadedRows(TokenRows rows, RowReport report) {}

    private RowFileReader() {}

    /** Reads and checks {@code file}; a user error (bad line, missing file, no rows) is an {@link InvalidInputException}. */
    public static LoadedRows read(Path file, RowOptions options) {
        String name = file.toString();
        RowParser parser = new RowParser(options);
        InMemoryTokenRows.Builder rows = new InMemoryTokenRows.Builder();
        Map<BadRow, RowReport.Skipped> skipped = new EnumMap<>(BadRow.class);
        long tokens = 0, targets = 0, truncated = 0;
        int kept = 0;
        long lines;
        try (Utf8Lines in = new Utf8Lines(Files.newInputStream(file))) {
            while (in.next()) {
                Checked row;
                try {
                    row = check(in, parser, options);
                } catch (RowParser.Bad bad) {
                    String message = name + ":" + in.number() + ": " + bad.getMessage();
                    if (!options.skipBadRows()) throw new InvalidInputException(message);
                    skipped.merge(bad.kind, new RowReport.Skipped(1, message), (a, b) -> new RowReport.Skipped(a.count() + 1, a.first()));
                    continue;
                }
                rows.add(row.inputIds(), row.labels());
                if (row.truncated()) truncated++;
                tokens += row.inputIds().length;
                targets += row.targets();
                kept++;
                if (kept == Integer.MAX_VALUE) throw new InvalidInputException(name + ": more than " + (Integer.MAX_VALUE - 1) + " rows");
            }
            lines = in.number();
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(name + ": no such file");
        } catch (AccessDeniedException e) {
            throw new InvalidInputException(name + ": permission denied");
        } catch (IOException e) {
            if (Files.isDirectory(file)) throw new InvalidInputException(name + ": is a directory, not a rows file");
            throw new UncheckedIOException("reading " + name, e);
        }
        RowReport report = new RowReport(name, lines, kept, tokens, targets, truncated, skipped);
        if (kept == 0) {
            throw new InvalidInputException(name + ": no rows" + (lines == 0 ? " (the file is empty)" : " (" + report.skippedTotal() + " bad lines skipped)"));
        }
        return new LoadedRows(rows.build(), report);
    }

    /** A line that passed every check, as it will be kept. */
    private record Checked(int[] inputIds, int[] labels, int targets, boolean truncated) {}

    private static Checked check(Utf8Lines in, RowParser parser, RowOptions options) throws RowParser.Bad {
        if (!in.isUtf8()) throw new RowParser.Bad(BadRow.NOT_UTF8, "not UTF-8 text");
        if (in.isBlank()) throw new RowParser.Bad(BadRow.BLANK_LINE, "blank line (a rows file has one JSON object on every line)");
        RowParser.Parsed row = parser.parse(in.chars(), in.length());
        int[] ids = row.inputIds(), labels = row.labels();
        int seqLen = options.seqLen();
        boolean truncated = ids.length > seqLen;
        if (truncated) {
            if (options.overflow() == Overflow.ERROR) {
                throw new RowParser.Bad(BadRow.TOO_LONG, "the row has " + ids.length + " tokens, more than seq_len " + seqLen + " (data.overflow = error)");
            }
            boolean shared = labels == ids;
            ids = Arrays.copyOf(ids, seqLen);
            labels = shared ? ids : Arrays.copyOf(labels, seqLen);
        }
        int targets = TokenRow.countTargets(labels);
        if (targets == 0) {
            String why = ids.length == 1 ? "a row of one token has no target (token t is trained to predict labels[t+1])"
                    : truncated ? "no trained target in the first " + seqLen + " tokens (seq_len): every label after the first is -100"
                    : "no trained target: every label after the first is -100";
            throw new RowParser.Bad(BadRow.NO_TARGETS, why);
        }
        return new Checked(ids, labels, targets, truncated);
    }
}
