package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

/** The backend for a device and compute dtype (null: the device's default). */
public final class Backends {
    private Backends() {}

    public static Backend create(Device device, DType dtype) {
        if (device.isCpu()) {
            if (dtype != null && dtype != DType.F32) {
                throw new InvalidInputException("the CPU backend computes in f32 only, not " + dtype.shortName());
            }
            return new CpuBackend();
        }
        throw new InvalidInputException("device " + device + ": the CUDA backend is not available in this build (use --device cpu)");
    }
}
