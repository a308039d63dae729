package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

import java.util.EnumMap;
import java.util.Map;

/**
 * What every reader of training data does with the rows it makes, in one place so that the rows
 * file of token ids and the text formats keep one set of rules: a row longer than seq_len is
 * truncated, split or refused ({@link Overflow}); a row must keep a target; a bad row stops the
 * read with {@code where: what} as an {@link InvalidInputException}, or with skip_bad_rows is
 * skipped and counted by kind with its first message. Not thread-safe.
 */
public final class RowCollector {
    private final String name;
    private final RowOptions options;
    private final InMemoryTokenRows.Builder rows = new InMemoryTokenRows.Builder();
    private final Documents.Builder documents = new Documents.Builder();
    private final Map<BadRow, RowReport.Skipped> skipped = new EnumMap<>(BadRow.class);
    private long tokens, targets, truncated, split, droppedPieces;
    private int kept;

    /** Rows of the data the user named {@code name} (a file or a folder), checked against {@code options}. */
    public RowCollector(String name, RowOptions options) {
        this.name = name;
        this.options = options;
    }

    public RowOptions options() {
        return options;
    }

    /**
     * Applies the length rules to a row and keeps it (or its pieces); a row they refuse is handled
     * like any bad row, at {@code where} ({@code file:line}). {@code labels} may be {@code inputIds}
     * itself (every token trained on). The arrays are kept, not copied.
     */
    public void add(String where, int[] inputIds, int[] labels) {
        try {
            addChecked(inputIds, labels);
        } catch (BadRowException bad) {
            bad(where, bad);
        }
    }

    /** A bad row at {@code where}: the user's error, or counted when skipping bad rows. */
    public void bad(String where, BadRowException bad) {
        String message = where + ": " + bad.getMessage();
        if (!options.skipBadRows()) throw new InvalidInputException(message);
        skipped.merge(bad.kind(), new RowReport.Skipped(1, message), (a, b) -> new RowReport.Skipped(a.count() + 1, a.first()));
    }

    /** The rows kept and the report; {@code lines} is how many lines (or documents) were read. No row kept is the user's error. */
    public RowFileReader.LoadedRows finish(long lines) {
        RowReport report = new RowReport(name, lines, kept, tokens, targets, truncated, split, droppedPieces, skipped);
        if (kept == 0) throw noRows(report);
        return new RowFileReader.LoadedRows(rows.build(), report, documents.build());
    }

    /** The error of a read that kept no row. */
    public static InvalidInputException noRows(RowReport report) {
        return new InvalidInputException(report.file() + ": no rows"
                + (report.lines() == 0 ? " (the file is empty)" : " (" + report.skippedTotal() + " bad lines skipped)"));
    }

    private void addChecked(int[] ids, int[] labels) throws BadRowException {
        LengthRules.Kept k = LengthRules.apply(ids, labels, options);
        documents.add(kept, k.count());
        for (int i = 0; i < k.count(); i++) keep(k.ids()[i], k.labels()[i], TokenRow.countTargets(k.labels()[i]));
        if (k.truncated()) truncated++;
        if (k.split()) {
            split++;
            droppedPieces += k.droppedPieces();
        }
    }

    private void keep(int[] ids, int[] labels, int rowTargets) {
        if (kept == Integer.MAX_VALUE - 1) throw new InvalidInputException(name + ": more than " + (Integer.MAX_VALUE - 1) + " rows");
        rows.add(ids, labels);
        tokens += ids.length;
        targets += rowTargets;
        kept++;
    }
}
