package org.cce4j.core.tensor;

import org.cce4j.core.InvalidInputException;

/**
 * Moving tensors between host and device memory, for callers that hold host tensors (the command
 * line, tests). On the CPU these are the tensors themselves.
 */
public final class Transfers {
    private Transfers() {}

    /** The tensor on {@code device}: itself when it is there already, else a new copy the caller closes. */
    public static Tensor to(Tensor t, Device device) {
        if (t.device().equals(device)) return t;
        throw new InvalidInputException("cannot move " + t + " to " + device + ": CUDA is not available in this build");
    }

    /** A host tensor with the same contents: itself when on the host, else a new copy the caller closes. */
    public static Tensor toHost(Tensor t) {
        if (t.device().isCpu()) return t;
        throw new InvalidInputException("cannot copy " + t + " to the host: CUDA is not available in this build");
    }
}
