package org.cce4j.trainer.data;

/**
 * The generator behind the epoch shuffle, exactly as the train semantics (shared with the PyTorch reference) state it so that the
 * PyTorch reference (Python ints masked to 64 bits) draws the same numbers: splitmix64's finalizer
 * {@code mix}, a state seeded with {@code mix(seed) ^ mix(epoch + 1)}, and {@code next()} = mix of
 * the state advanced by the golden-ratio increment. Java's long arithmetic wraps modulo 2^64, which is
 * the unsigned arithmetic the spec asks for; shifts are unsigned ({@code >>>}) and a draw is reduced
 * with {@link Long#remainderUnsigned}.
 */
final class SplitMix64 {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private long state;

    /** The generator of epoch {@code epoch} (0-based) of a run seeded with {@code seed} (read as unsigned 64 bits). */
    SplitMix64(long seed, long epoch) {
        this.state = mix(seed) ^ mix(epoch + 1);
    }

    /** splitmix64's finalizer. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The next 64 bits (as a signed long; read them as unsigned). */
    long next() {
        state += GOLDEN_GAMMA;
        return mix(state);
    }

    /** {@code next() mod bound}, the 64 bits read unsigned (no rejection: the spec's modulo, bias and all). */
    int nextBelow(int bound) {
        if (bound < 1) throw new IllegalArgumentException("bound must be >= 1, got " + bound);
        return (int) Long.remainderUnsigned(next(), bound);
    }
}
