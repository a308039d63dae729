package org.cce4j.trainer.data;

/**
 * The rows of a training or validation file, by index (0-based, in file order, bad rows skipped).
 * An interface so that the store can change without the loop changing: today {@link InMemoryTokenRows}
 * holds every row on the heap; a memory-mapped or cached store for data larger than memory can
 * replace it behind the same two methods.
 */
public interface TokenRows {
    /** The number of rows. */
    int size();

    /** Row {@code i}, 0 <= i < size(). */
    TokenRow row(int i);
}
