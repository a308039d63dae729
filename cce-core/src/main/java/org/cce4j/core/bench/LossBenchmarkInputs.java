package org.cce4j.core.bench;

import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Host benchmark inputs in the requested dtype, by {@link InputKind}. {@link #create(int, int, int, DType, long)}
 * draws them as the CCE paper's benchmark does: C and E ~ N(0, 1) / D^0.25, the first N rows of C
 * equal to E (so each token's own row gives it a large logit), targets uniform in [0, V).
 * {@code uniform}: E and C independent, N(0, 1)·0.1/D^0.25 each, so the logits have a standard deviation
 * of 0.01 (a model at random initialization); targets uniform. {@code trained}: {@link TrainedInputs}.
 */
public final class LossBenchmarkInputs {
    private LossBenchmarkInputs() {}

    /** Inputs of {@code kind}: paper, uniform or trained. */
    public static CceInputs create(InputKind kind, int n, int d, int v, DType dtype, long seed) {
        return switch (kind) {
            case PAPER -> create(n, d, v, dtype, seed);
            case UNIFORM -> uniform(n, d, v, dtype, seed);
            case TRAINED -> TrainedInputs.create(n, d, v, dtype, seed);
        };
    }

    /** The scale of each of E and C in {@code uniform}: logits of standard deviation 0.01. */
    static final double UNIFORM_SCALE = 0.1;

    static CceInputs uniform(int n, int d, int v, DType dtype, long seed) {
        double scale = UNIFORM_SCALE / Math.pow(d, 0.25);
        Tensor e = cast(gaussian((long) n * d, scale, seed + 2), dtype, n, d);
        Tensor c = cast(gaussian((long) v * d, scale, seed + 3), dtype, v, d);
        SplittableRandom rnd = new SplittableRandom(seed + 4);
        long[] targets = new long[n];
        for (int r = 0; r < n; r++) targets[r] = rnd.nextInt(v);
        return CceInputs.of(e, c, Tensor.of(targets, n));
    }

    public static CceInputs create(int n, int d, int v, DType dtype, long seed) {
        double scale = 1.0 / Math.pow(d, 0.25);
        float[] c = gaussian((long) v * d, scale, seed);
        float[] e = new float[n * d];
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        for (int r = 0; r < n; r++) {
            int row = r < v ? r : rnd.nextInt(v);
            System.arraycopy(c, row * d, e, r * d, d);
        }
        long[] targets = new long[n];
        for (int r = 0; r < n; r++) targets[r] = rnd.nextInt(v);
        return CceInputs.of(cast(e, dtype, n, d), cast(c, dtype, v, d), Tensor.of(targets, n));
    }

    private static float[] gaussian(long count, double scale, long seed) {
        if (count > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("benchmark tensor too large: " + count);
        float[] x = new float[(int) count];
        int chunk = 1 << 20;
        IntStream.range(0, (x.length + chunk - 1) / chunk).parallel().forEach(b -> {
            SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + b);
            for (int i = b * chunk; i < Math.min(x.length, (b + 1) * chunk); i++) x[i] = (float) (rnd.nextGaussian() * scale);
        });
        return x;
    }

    private static Tensor cast(float[] values, DType dtype, long rows, long cols) {
        Tensor f = Tensor.of(values, rows, cols);
        if (dtype == DType.F32) return f;
        try (f) {
            return f.to(dtype);
        }
    }

    public static void close(CceInputs in) {
        in.embeddings().close();
        in.classifier().close();
        in.targets().close();
    }
}
