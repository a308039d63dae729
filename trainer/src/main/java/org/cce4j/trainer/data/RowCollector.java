package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

import java.util.Arrays;
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
        if (kept == 0) {
            throw new InvalidInputException(name + ": no rows" + (lines == 0 ? " (the file is empty)" : " (" + report.skippedTotal() + " bad lines skipped)"));
        }
        return new RowFileReader.LoadedRows(rows.build(), report);
    }

    private void addChecked(int[] ids, int[] labels) throws BadRowException {
        int seqLen = options.seqLen();
        if (ids.length <= seqLen) {
            int t = TokenRow.countTargets(labels);
            if (t == 0) throw noTargets(ids.length, false);
            keep(ids, labels, t);
            return;
        }
        switch (options.overflow()) {
            case ERROR -> throw new BadRowException(BadRow.TOO_LONG,
                    "the row has " + ids.length + " tokens, more than seq_len " + seqLen + " (data.overflow = error)");
            case TRUNCATE -> {
                int[] cutIds = Arrays.copyOf(ids, seqLen);
                int[] cutLabels = labels == ids ? cutIds : Arrays.copyOf(labels, seqLen);
                int t = TokenRow.countTargets(cutLabels);
                if (t == 0) throw noTargets(ids.length, true);
                keep(cutIds, cutLabels, t);
                truncated++;
            }
            case SPLIT -> {
                int keptPieces = 0, dropped = 0;
                int[][] pieceIds = new int[(ids.length - 2) / (seqLen - 1) + 1][];
                int[][] pieceLabels = new int[pieceIds.length][];
                int n = 0;
                for (int start = 0; ; start += seqLen - 1) {
                    int end = Math.min(start + seqLen, ids.length);
                    int[] pi = Arrays.copyOfRange(ids, start, end);
                    int[] pl = labels == ids ? pi : Arrays.copyOfRange(labels, start, end);
                    if (TokenRow.countTargets(pl) > 0) {
                        pieceIds[n] = pi;
                        pieceLabels[n++] = pl;
                    } else {
                        dropped++;
                    }
                    if (end == ids.length) break;
                }
                if (n == 0) {
                    throw new BadRowException(BadRow.NO_TARGETS, "no trained target in any piece of the row: every label after the first is -100");
                }
                for (int k = 0; k < n; k++) {
                    keep(pieceIds[k], pieceLabels[k], TokenRow.countTargets(pieceLabels[k]));
                    keptPieces++;
                }
                split++;
                droppedPieces += dropped;
            }
        }
    }

    private BadRowException noTargets(int length, boolean truncatedRow) {
        String why = length == 1 ? "a row of one token has no target (token t is trained to predict labels[t+1])"
                : truncatedRow ? "no trained target in the first " + options.seqLen() + " tokens (seq_len): every label after the first is -100"
                : "no trained target: every label after the first is -100";
        return new BadRowException(BadRow.NO_TARGETS, why);
    }

    private void keep(int[] ids, int[] labels, int rowTargets) {
        if (kept == Integer.MAX_VALUE - 1) throw new InvalidInputException(name + ": more than " + (Integer.MAX_VALUE - 1) + " rows");
        rows.add(ids, labels);
        tokens += ids.length;
        targets += rowTargets;
        kept++;
    }
}
