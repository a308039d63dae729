package org.cce4j.trainer.data;

import java.util.List;

/**
 * A step's micro-batches and N_s, the step's target count over all of them: each micro-batch's
 * backward is of (its CE sum) / N_s, so that the accumulated gradients are those of the whole step.
 * The same for padded rows ({@link Batches}) and packed sequences ({@code trainer.data.packing}).
 *
 * @param step 1-based step number
 */
public record StepBatches(long step, List<MicroBatch> microBatches, long targets) {
    public StepBatches {
        microBatches = List.copyOf(microBatches);
    }

    /** The padding of all its micro-batches. */
    public Padding padding() {
        Padding p = Padding.NONE;
        for (MicroBatch m : microBatches) p = p.plus(m.padding());
        return p;
    }
}
