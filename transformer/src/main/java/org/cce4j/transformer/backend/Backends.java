package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaUnavailableException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

/** The backend for a device and compute dtype (null: the device's default, f32 on the CPU and bf16 on CUDA). */
public final class Backends {
    private Backends() {}

    public static Backend create(Device device, DType dtype) {
        if (device.isCpu()) {
            if (dtype != null && dtype != DType.F32) {
                throw new InvalidInputException("the CPU backend computes in f32 only, not " + dtype.shortName());
            }
            return new CpuBackend();
        }
        DType d = dtype == null ? DType.BF16 : dtype;
        if (d != DType.BF16 && d != DType.F32) {
            throw new InvalidInputException("the CUDA backend computes in bf16 or f32, not " + d.shortName());
        }
        CudaDevice dev;
        try {
            dev = CudaDevice.get(device);
        } catch (CudaUnavailableException e) {
            throw new InvalidInputException("device " + device + " is not usable: " + e.getMessage() + " (use --device cpu)", e);
        }
        return new CudaBackend(dev, d);
    }
}
