package org.cce4j.core.bench;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.Device;

/**
 * The loss benchmark's inputs, made once and timed by every implementation: E, C and the targets on the
 * benchmark's device, and the statistics of their softmax measured from the very values the
 * implementations read ({@link InputStatistics}). Closing frees them (and, on a GPU, the allocator's cache).
 */
public final class BenchmarkInputs implements AutoCloseable {
    private final Device device;
    private final CceInputs inputs;
    private final InputStatistics statistics;

    BenchmarkInputs(Device device, CceInputs inputs, InputStatistics statistics) {
        this.device = device;
        this.inputs = inputs;
        this.statistics = statistics;
    }

    public Device device() {
        return device;
    }

    /** The inputs, on {@link #device()}. */
    public CceInputs inputs() {
        return inputs;
    }

    public InputStatistics statistics() {
        return statistics;
    }

    @Override
    public void close() {
        LossBenchmarkInputs.close(inputs);
        if (!device.isCpu()) CudaDevice.get(device).allocator().releaseCache();
    }
}
