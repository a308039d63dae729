package org.cce4j.core.loss.cuda;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaUnavailableException;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.loss.LossProvider;
import org.cce4j.core.tensor.Device;

/** The CUDA implementations of the loss; a device that cannot be used is a clear user error. */
public final class CudaLosses implements LossProvider {

    @Override
    public boolean supports(Device device) {
        return device instanceof Device.Cuda;
    }

    @Override
    public LinearCrossEntropy create(CceImpl impl, Device device) {
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
