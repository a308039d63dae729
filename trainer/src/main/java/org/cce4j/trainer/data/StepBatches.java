package org.cce4j.trainer.data;

import java.util.List;

/**
 * A step's micro-batches and N_s, the step's target count over all of them: each micro-batch's
 * backward is of (its CE sum) / N_s, so that the accumulated gradients are those of the whole step.
 */
public record StepBatches(Step step, List<MicroBatch> microBatches, long targets) {
    public StepBatches {
        microBatches = List.copyOf(microBatches);
    }
}
