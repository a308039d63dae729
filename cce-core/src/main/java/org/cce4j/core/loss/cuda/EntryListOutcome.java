package org.cce4j.core.loss.cuda;

/**
 * What one run of the entry-list backward ({@link CceEntryBackward}) did, for tests and benchmarks:
 * the entries it kept in the rows it applied, how many rows that was, and whether it handed the
 * remaining rows to the dense path (a softmax spread over more entries than the lists pay for).
 */
public record EntryListOutcome(long kept, int rowsApplied, boolean fellBack) {
    /** The mean kept entries per applied row (0 when no row was applied). */
    public double keptPerRow() {
        return rowsApplied == 0 ? 0 : (double) kept / rowsApplied;
    }
}
