package org.cce4j.trainer.data;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What reading a rows file did, for the run's log: rows kept, rows truncated to seq_len, and the
 * rows skipped (with skip_bad_rows) by kind, each with the message of its first occurrence so that
 * the user can look at one.
 *
 * @param file      the file as the user named it
 * @param lines     lines read
 * @param rows      rows kept
 * @param tokens    tokens kept (after truncation)
 * @param targets   targets kept (the sum of the rows' target counts)
 * @param truncated rows cut to seq_len
 * @param split     rows cut into pieces (overflow = split); each piece kept counts in {@code rows}
 * @param droppedPieces pieces of split rows dropped because they held no target
 * @param skipped   skipped lines by kind (only kinds that occurred), in {@link BadRow} order
 */
public record RowReport(String file, long lines, int rows, long tokens, long targets, long truncated, long split, long droppedPieces,
                        Map<BadRow, Skipped> skipped) {

    /** How many lines of one kind were skipped, and the first one's message ({@code file:line: what}). */
    public record Skipped(long count, String first) {}

    public RowReport {
        EnumMap<BadRow, Skipped> byKind = new EnumMap<>(BadRow.class);
        byKind.putAll(skipped);
        skipped = Collections.unmodifiableMap(byKind);
    }

    /** A report of a read that split nothing. */
    public RowReport(String file, long lines, int rows, long tokens, long targets, long truncated, Map<BadRow, Skipped> skipped) {
        this(file, lines, rows, tokens, targets, truncated, 0, 0, skipped);
    }

    /** All skipped lines. */
    public long skippedTotal() {
        return skipped.values().stream().mapToLong(Skipped::count).sum();
    }

    /** One line, e.g. {@code rows.jsonl: 998 rows, 51200 tokens, 50202 targets; 3 truncated; 2 skipped (blank_line 1, no_targets 1)}. */
    public String summary() {
        StringBuilder sb = new StringBuilder(file).append(": ").append(rows).append(" rows, ").append(tokens)
                .append(" tokens, ").append(targets).append(" targets");
        if (truncated > 0) sb.append("; ").append(truncated).append(" truncated");
        if (split > 0) {
            sb.append("; ").append(split).append(" split");
            if (droppedPieces > 0) sb.append(" (").append(droppedPieces).append(" pieces without a target dropped)");
        }
        if (!skipped.isEmpty()) {
            StringJoiner kinds = new StringJoiner(", ", " (", ")");
            skipped.forEach((k, s) -> kinds.add(k.key() + " " + s.count()));
            sb.append("; ").append(skippedTotal()).append(" skipped").append(kinds);
        }
        return sb.toString();
    }
}
