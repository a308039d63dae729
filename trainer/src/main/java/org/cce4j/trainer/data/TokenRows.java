package org.cce4j.trainer.data;

/**
 * The rows of a training or validation file, by index (0-based, in file order, bad rows skipped).
 * An interface so that the store can change without the loop changing: {@link InMemoryTokenRows}
 * holds every row on the heap; {@code trainer.data.packing.TokenFile} maps a token file and reads a
 * row only when it is asked for, so that data larger than memory costs no heap.
 */
public interface TokenRows {
    /** The number of rows. */
    int size();

    /** Row {@code i}, 0 <= i < size(). */
    TokenRow row(int i);

    /** Row {@code i}'s token count without reading its tokens (a store with an index overrides this). */
    default int length(int i) {
        return row(i).length();
    }
}
