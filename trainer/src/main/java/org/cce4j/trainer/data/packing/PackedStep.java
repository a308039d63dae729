package org.cce4j.trainer.data.packing;

import java.util.List;

/**
 * One optimizer step of a packed run: its epoch, where it starts in the epoch's order of packed
 * sequences, and its micro-batches, each a list of packed sequences, each a list of row indices.
 *
 * @param number       1-based step number
 * @param epoch        0-based epoch
 * @param start        the index, in the epoch's order of packs, of the step's first pack
 * @param microBatches micro_batch_size packs each (the last may hold fewer); a pack is its rows in layout order
 */
public record PackedStep(long number, int epoch, int start, List<List<int[]>> microBatches) {
    public PackedStep {
        microBatches = microBatches.stream().map(List::copyOf).toList();
    }

    /** The packed sequences of the step. */
    public int packs() {
        return microBatches.stream().mapToInt(List::size).sum();
    }
}
