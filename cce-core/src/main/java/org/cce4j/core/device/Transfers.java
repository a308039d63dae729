package org.cce4j.core.device;

import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaUnavailableException;

/**
 * Moving tensors between host and device memory, for callers that hold host tensors (the command
 * line, tests). On the CPU these are the tensors themselves; CUDA copies go through the device's
 * stream and caching allocator ({@link CudaDevice#upload}, {@link CudaDevice#download}).
 */
public final class Transfers {
    private Transfers() {}

    /** The tensor on {@code device}: itself when it is there already, else a new copy the caller closes. */
    public static Tensor to(Tensor t, Device device) {
        if (t.device().equals(device)) return t;
        if (device.isCpu()) return toHost(t);
        try {
            if (t.device().isCpu()) return CudaDevice.get(device).upload(t);
            try (Tensor h = toHost(t)) {
                return CudaDevice.get(device).upload(h);
            }
        } catch (CudaUnavailableException e) {
            throw new InvalidInputException("cannot move " + t + " to " + device + ": " + e.getMessage(), e);
        }
    }

    /** A host tensor with the same contents: itself when on the host, else a new copy the caller closes. */
    public static Tensor toHost(Tensor t) {
        if (t.device().isCpu()) return t;
        return CudaDevice.get(t.device()).download(t);
    }
}
