package org.cce4j.core.device;

import org.cce4j.core.tensor.Device;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaException;
import org.cce4j.core.cuda.CudaUnavailableException;
import org.cce4j.core.InvalidInputException;

/**
 * Turns the command line's {@code --device} into a device. An explicit "cpu", "cuda" or "cuda:N"
 * is taken as asked (a CUDA device that cannot be used fails later with a clear message); no
 * choice means CUDA device 0 when one is usable, else the CPU, with the reason either way.
 */
public final class Devices {
    private Devices() {}

    /**
     * Opens an asked-for CUDA device now, so that a device that cannot be used is one clear line
     * (an {@link InvalidInputException} naming it) before any work; the CPU is always usable.
     */
    public static void requireUsable(Device device) {
        if (!(device instanceof Device.Cuda)) return;
        try {
            CudaDevice.get(device);
        } catch (CudaUnavailableException e) {
            throw new InvalidInputException("device " + device + " is not usable: " + e.getMessage() + " (use --device cpu)", e);
        }
    }

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
