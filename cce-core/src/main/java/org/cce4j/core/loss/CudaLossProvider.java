package org.cce4j.core.loss;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaBaselineCrossEntropy;
import org.cce4j.core.cuda.CudaCutCrossEntropy;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaUnavailableException;
import org.cce4j.core.tensor.Device;

/** The CUDA implementations of the loss; a device that cannot be used is a clear user error. */
final class CudaLossProvider {
    private CudaLossProvider() {}

    static LinearCrossEntropy create(CceImpl impl, Device device) {
        try {
            CudaDevice.get(device);
        } catch (CudaUnavailableException e) {
            throw new InvalidInputException("device " + device + " is not usable: " + e.getMessage() + " (use --device cpu)", e);
        }
        return switch (impl) {
            case CCE -> new CudaCutCrossEntropy(false, device);
            case CCE_EXACT -> new CudaCutCrossEntropy(true, device);
            case BASELINE -> new CudaBaselineCrossEntropy(device);
        };
    }
}
