package org.cce4j.core.cuda;

import org.cce4j.core.tensor.DType;

/**
 * The element type a kernel is compiled for, as every kernel source of cce4j reads it: the define
 * {@code CCE_ELEM} (0 f32, 1 bf16, 2 f16) that {@code cce_common.cuh} turns into {@code elem_t} and
 * its conversions. One mapping for the loss's kernels and the transformer's.
 */
public final class KernelElements {
    private KernelElements() {}

    /** The code of {@code dtype}: f32, bf16 or f16. */
    public static int code(DType dtype) {
        return switch (dtype) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            default -> throw new IllegalArgumentException("no CUDA kernels for " + dtype);
        };
    }

    /** The define {@code CCE_ELEM=code}. */
    public static String define(DType dtype) {
        return "CCE_ELEM=" + code(dtype);
    }

    /** Blocks of {@code per} threads (or items) covering {@code n}. */
    public static int ceilDiv(long n, long per) {
        long b = (n + per - 1) / per;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException(n + " items in blocks of " + per + " exceed one launch");
        return (int) b;
    }
}
