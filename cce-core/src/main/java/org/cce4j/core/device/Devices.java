package org.cce4j.core.device;

import org.cce4j.core.tensor.Device;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaException;

/**
 * Turns the command line's {@code --device} into a device. An explicit "cpu", "cuda" or "cuda:N"
 * is taken as asked (a CUDA device that cannot be used fails later with a clear message); no
 * choice means CUDA device 0 when one is usable, else the CPU, with the reason either way.
 */
public final class Devices {
    private Devices() {}

    public static DeviceChoice choose(String requested) {
        if (requested != null && !requested.isBlank()) {
            return new DeviceChoice(Device.parse(requested), "asked for with --device");
        }
        try {
            CudaDevice d = CudaDevice.get(0);
            return new DeviceChoice(d.device(), "CUDA device 0 is usable: " + d);
        } catch (CudaException | LinkageError e) {
            return new DeviceChoice(Device.CPU, "no usable CUDA device: " + e.getMessage());
        }
    }
}
