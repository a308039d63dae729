package org.cce4j.checkpoints.state;

import org.cce4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.Map;

/**
 * What resuming a run needs besides the weights: the optimizer step, the optimizer's tensors
 * (AdamW's first and second moments, named by the trainer, e.g. "exp_avg.<param>" and
 * "exp_avg_sq.<param>"), where the data loader was, the random generator's state, and free-form
 * properties (learning-rate schedule, loss scale ...). {@link TrainingStateFile} writes and reads it.
 *
 * @param step        optimizer steps taken
 * @param data        where the next batch starts
 * @param rngState    the generator's state words (the trainer knows the generator)
 * @param properties  anything else, as strings
 * @param tensors     optimizer tensors by name, any dtype (views into the file after reading)
 */
public record TrainingState(long step, DataPosition data, long[] rngState, Map<String, String> properties, Map<String, Tensor> tensors) {
    /** Epoch, and the index of the next example (or token offset: the trainer decides) within it. */
    public record DataPosition(long epoch, long index) {}

    public TrainingState {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        rngState = rngState.clone();
        properties = Map.copyOf(properties);
        tensors = Map.copyOf(tensors);
    }

    @Override
    public long[] rngState() {
        return rngState.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrainingState s && step == s.step && data.equals(s.data) && Arrays.equals(rngState, s.rngState)
                && properties.equals(s.properties) && tensors.keySet().equals(s.tensors.keySet());
    }

    @Override
    public int hashCode() {
        return Long.hashCode(step) * 31 + data.hashCode();
    }
}
