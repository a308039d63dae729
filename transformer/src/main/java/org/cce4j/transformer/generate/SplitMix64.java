package org.cce4j.transformer.generate;

/**
 * Generation's random numbers: SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
 * number generators", OOPSLA 2014), written out here so that a seed gives the same tokens on every
 * JVM and every version of this project, whatever the JDK's generators do. A state of 64 bits,
 * advanced by the golden-ratio increment and mixed by the finalizer of MurmurHash3's variant 13;
 * doubles take the top 53 bits. It is not PyTorch's generator: a seeded sampling run is reproducible
 * here, not equal to torch.multinomial's draws.
 */
public final class SplitMix64 {
    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1), a multiple of 2⁻⁵³. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }
}
