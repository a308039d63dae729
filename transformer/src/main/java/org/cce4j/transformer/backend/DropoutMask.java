package org.cce4j.transformer.backend;

/**
 * The keep/drop decision of dropout as a pure function of (seed, element index), so that the
 * backward regenerates the forward's mask instead of storing it, and the CPU and CUDA backends
 * (elementwise.cu's {@code dropout_keep}, the same arithmetic) draw the same mask bit for bit:
 * <pre>
 *   h    = splitmix64(seed + (i + 1) · 0x9E3779B97F4A7C15)
 *   u    = (h >>> 40) · 2⁻²⁴                 uniform in [0, 1), 24 bits (exact in f32)
 *   keep = u ≥ p;   out = keep ? x · 1/(1 − p) : 0
 * </pre>
 * A run derives one seed per (step, micro-batch, module) from its own seed, so a resumed run draws
 * the masks the uninterrupted one drew.
 */
public final class DropoutMask {
    private DropoutMask() {}

    public static long splitmix64(long x) {
        long z = x;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public static boolean keep(long seed, long index, float p) {
        long h = splitmix64(seed + (index + 1) * 0x9E3779B97F4A7C15L);
        float u = (float) (h >>> 40) * 0x1p-24f;
        return u >= p;
    }

    /** The factor kept elements are multiplied by. */
    public static float scale(float p) {
        return (float) (1.0 / (1.0 - p));
    }

    /** A seed for one use (a module in a micro-batch of a step) derived from the run's seed. */
    public static long derive(long runSeed, long... parts) {
        long s = splitmix64(runSeed ^ 0xD1B54A32D192ED03L);
        for (long p : parts) s = splitmix64(s + p);
        return s;
    }
}
