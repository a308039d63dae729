package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;
import org.cce4j.trainer.data.LengthRules;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.RowReport;
import org.cce4j.trainer.data.TokenRow;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code RowCollector} counts, counted from the token cache's worker threads: the length rules
 * applied to each record (the same {@link LengthRules}), sums of kept rows, tokens, targets, truncated
 * and split rows, and bad records by kind. The sums do not depend on the order the records are
 * tokenized in; the first message of each kind is the one of the lowest record index, which is the
 * one a reader in file order keeps. Without skip_bad_rows a bad record throws, and the pipeline
 * reports the first in file order. Thread-safe.
 */
final class BuildTally {
    private final String name;
    private final RowOptions options;
    private final Map<BadRow, long[]> counts = new EnumMap<>(BadRow.class);          // kind → {count, index of the first}
    private final Map<BadRow, String> firsts = new EnumMap<>(BadRow.class);
    private long rows, tokens, targets, truncated, split, droppedPieces, boundaryMerged;

    BuildTally(String name, RowOptions options) {
        this.name = name;
        this.options = options;
    }

    /** The rows the length rules keep of record {@code index} (at {@code where}); none when it is a bad row being skipped. */
    List<TokenRow> keep(long index, String where, int[] ids, int[] labels, boolean merged) {
        LengthRules.Kept k;
        try {
            k = LengthRules.apply(ids, labels, options);
        } catch (BadRowException bad) {
            bad(index, where, bad);
            return List.of();
        }
        List<TokenRow> out = new ArrayList<>(k.count());
        long t = 0, n = 0;
        for (int i = 0; i < k.count(); i++) {
            TokenRow r = k.row(i);
            out.add(r);
            t += r.targets();
            n += r.length();
        }
        synchronized (this) {
            rows += k.count();
            tokens += n;
            targets += t;
            if (k.truncated()) truncated++;
            if (k.split()) {
                split++;
                droppedPieces += k.droppedPieces();
            }
            if (merged) boundaryMerged++;
        }
        return out;
    }

    /** A bad record: the user's error, or counted when skipping bad rows. */
    void bad(long index, String where, BadRowException bad) {
        String message = where + ": " + bad.getMessage();
        if (!options.skipBadRows()) throw new InvalidInputException(message);
        synchronized (this) {
            long[] c = counts.computeIfAbsent(bad.kind(), x -> new long[] {0, Long.MAX_VALUE});
            c[0]++;
            if (index < c[1]) {
                c[1] = index;
                firsts.put(bad.kind(), message);
            }
        }
    }

    /** The report of a read of {@code lines} records. */
    synchronized RowReport rowReport(long lines) {
        if (rows > Integer.MAX_VALUE - 1) throw new InvalidInputException(name + ": more than " + (Integer.MAX_VALUE - 1) + " rows");
        Map<BadRow, RowReport.Skipped> skipped = new EnumMap<>(BadRow.class);
        counts.forEach((k, c) -> skipped.put(k, new RowReport.Skipped(c[0], firsts.get(k))));
        return new RowReport(name, lines, (int) rows, tokens, targets, truncated, split, droppedPieces, skipped);
    }

    synchronized long boundaryMerged() {
        return boundaryMerged;
    }
}
