package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a rows file: JSONL, one {@code {"input_ids": [...], "labels": [...]}} object per line
 * (labels optional, meaning the ids; other fields ignored), into {@link TokenRows}. Every line is
 * checked (see {@link BadRow} for the kinds and their order); a bad line stops the read with
 * {@code file:line: what} as an {@link InvalidInputException}, or with skip_bad_rows is skipped and
 * counted. Rows are then cut to seq_len, split, or refused ({@link Overflow}, counted), and a row
 * must keep at least one target ({@link RowCollector} applies these rules for every data format).
 * Row i of the result is the i-th row kept (a split line gives several).
 */
public final class RowFileReader {

    /** The rows read, and what reading them did. */
    public record LoadedRows(TokenRows rows, RowReport report, Documents documents) {
        public LoadedRows(TokenRows rows, RowReport report) {
            this(rows, report, Documents.NONE);
        }
    }

    private RowFileReader() {}

    /** Reads and checks {@code file}; a user error (bad line, missing file, no rows) is an {@link InvalidInputException}. */
    public static LoadedRows read(Path file, RowOptions options) {
        String name = file.toString();
        RowParser parser = new RowParser(options);
        RowCollector rows = new RowCollector(name, options);
        long lines;
        try (Utf8Lines in = new Utf8Lines(Files.newInputStream(file))) {
            while (in.next()) {
                String where = name + ":" + in.number();
                try {
                    RowParser.Parsed row = parse(in, parser);
                    rows.add(where, row.inputIds(), row.labels());
                } catch (BadRowException bad) {
                    rows.bad(where, bad);
                }
            }
            lines = in.number();
        } catch (IOException e) {
            if (!(e instanceof NoSuchFileException) && Files.isDirectory(file)) throw new InvalidInputException(name + ": is a directory, not a rows file");
            throw readFailure(name, e);
        }
        return rows.finish(lines);
    }

    private static RowParser.Parsed parse(Utf8Lines in, RowParser parser) throws BadRowException {
        return parse(in.isUtf8(), in.isBlank(), in.chars(), in.length(), parser);
    }

    private static RowParser.Parsed parse(boolean utf8, boolean blank, char[] chars, int length, RowParser parser) throws BadRowException {
        if (!utf8) throw new BadRowException(BadRow.NOT_UTF8, "not UTF-8 text");
        if (blank) throw new BadRowException(BadRow.BLANK_LINE, "blank line (a rows file has one JSON object on every line)");
        return parser.parse(chars, length);
    }

    /**
     * One line of a rows file → its ids and labels before the length rules, with every check
     * {@link #read} makes: for readers that parse lines on threads of their own (one parser a thread).
     */
    public static final class LineParser {
        private final RowParser parser;

        public LineParser(RowOptions options) {
            parser = new RowParser(options);
        }

        /** {ids, labels} (labels the ids' array when the line has none); {@code chars} is ignored when not {@code utf8}. */
        public int[][] parse(boolean utf8, boolean blank, char[] chars, int length) throws BadRowException {
            RowParser.Parsed p = RowFileReader.parse(utf8, blank, chars, length, parser);
            return new int[][] {p.inputIds(), p.labels()};
        }
    }

    /** A data file that could not be read: a missing or unreadable file is the user's (one line), anything else is I/O's. */
    public static RuntimeException readFailure(String name, IOException e) {
        if (e instanceof NoSuchFileException) return new InvalidInputException(name + ": no such file");
        if (e instanceof AccessDeniedException) return new InvalidInputException(name + ": permission denied");
        return new UncheckedIOException("reading " + name, e);
    }
}
