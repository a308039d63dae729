package org.cce4j.trainer.data;

import java.util.List;

/**
 * One optimizer step of a run's plan: which epoch it belongs to, where it starts in that epoch's
 * order, its rows (indices into the rows file, in the order they are trained on) and those rows cut
 * into micro-batches of micro_batch_size consecutive rows (the last may be smaller).
 *
 * @param number       1-based step number
 * @param epoch        0-based epoch
 * @param start        the index, in the epoch's order, of the step's first row
 * @param rows         row indices of the step
 * @param microBatches the rows cut into micro-batches (concatenated they are {@code rows})
 */
public record Step(long number, int epoch, int start, int[] rows, List<int[]> microBatches) {
    public Step {
        microBatches = List.copyOf(microBatches);
    }

    /** The index, in the epoch's order, just past the step's last row. */
    public int end() {
        return start + rows.length;
    }
}
