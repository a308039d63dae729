package org.cce4j.core.cpu;

/** Integer helpers of blocked CPU loops (padding to micro-tile multiples) and reusable scratch arrays. */
public final class Blocks {
    private Blocks() {}

    /** x rounded up to a multiple of {@code multiple}. */
    public static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    public static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    /** {@code a} when it holds at least n floats, else a new array of n (at least 16): scratch grows, never shrinks. */
    public static float[] ensure(float[] a, int n) {
        return a != null && a.length >= n ? a : new float[Math.max(n, 16)];
    }
}
