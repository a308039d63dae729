package org.cce4j.core.loss;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Device;

/** Where the CUDA implementations will plug in; until they exist, asking for one is a clear user error. */
final class CudaLossProvider {
    private CudaLossProvider() {}

    static LinearCrossEntropy create(CceImpl impl, Device device) {
        throw new InvalidInputException("device " + device + ": the CUDA implementations of the loss are not available in this build (use --device cpu)");
    }
}
