package org.cce4j.core.tensor;

import org.cce4j.core.InvalidInputException;

/** Checks on user-supplied tensors that are too costly for every library call but right at the edges. */
public final class TensorChecks {
    private TensorChecks() {}

    /** Refuses a host float tensor holding NaN or ±Inf, naming the first bad element. */
    public static void requireFinite(Tensor t, String name) {
        if (!t.dtype().isFloatingPoint()) return;
        long n = t.numel();
        for (long i = 0; i < n; i++) {
            float x = t.getFloat(i);
            if (!Float.isFinite(x)) {
                throw new InvalidInputException(name + " holds " + x + " at " + position(t, i));
            }
        }
    }

    /** "element i" as a multi-index, e.g. "[2, 5]". */
    static String position(Tensor t, long flat) {
        long[] shape = t.shape();
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return Shapes.toString(idx);
    }
}
