package org.cce4j.core.loss.cpu;

import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.loss.LossProvider;
import org.cce4j.core.tensor.Device;

/** The CPU implementations of the loss (f32 kernels on the Vector API, or plain Java without it). */
public final class CpuLosses implements LossProvider {

    @Override
    public boolean supports(Device device) {
        return device.isCpu();
    }

    @Override
    public LinearCrossEntropy create(CceImpl impl, Device device) {
        return switch (impl) {
            case CCE -> new CpuCutCrossEntropy(false);
            case CCE_EXACT -> new CpuCutCrossEntropy(true);
            case BASELINE -> new CpuBaselineCrossEntropy();
        };
    }
}
