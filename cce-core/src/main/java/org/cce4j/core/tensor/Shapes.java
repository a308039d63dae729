package org.cce4j.core.tensor;

/** Small helpers over shapes (long[] of non-negative sizes). */
public final class Shapes {
    private Shapes() {}

    /** The element count, refusing negative sizes and overflow. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative size in shape " + toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public static String toString(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }

    /** The product of all dimensions but the last (the number of rows of a [..., D] tensor). */
    public static long rows(long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 1; i++) n = Math.multiplyExact(n, shape[i]);
        return n;
    }
}
