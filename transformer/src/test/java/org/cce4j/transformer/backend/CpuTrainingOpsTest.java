package org.cce4j.transformer.backend;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CpuBackend's training operations against references that do not share its code: AdamW against
 * torch.optim.AdamW's update in float64 (within a first-order bound on the f32 roundings, tracked per
 * element) and against a float32 replay of torch's {@code _single_tensor_adam}, operation by operation,
 * which it must equal bit for bit; sumOfSquares against an exact (BigDecimal) sum; dropout's mask
 * against the JDK's SplittableRandom, whose nextLong() stream is the same splitmix64 of seed + k·γ, and
 * its kept fraction against binomial bounds; scale exactly. These are the reference semantics the CUDA
 * kernels are tested against in CudaBackendTest.
 */
class CpuTrainingOpsTest {
    private static final double U = 0x1p-24;   // f32 unit round-off
    private final CpuBackend cpu = new CpuBackend();
    private final SplittableRandom rnd = new SplittableRandom(29);

    // ---- AdamW -------------------------------------------------------------------------------

    /** How the clipping factor is given: no sum (off), a sum with maxGradNorm 0 (off), far above the norm, below it. */
    enum Clip { NO_SUM, ZERO_MAX_NORM, INACTIVE, ACTIVE }

    record AdamCase(String name, double beta1, double beta2, double eps, double weightDecay, Clip clip) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<AdamCase> adamCases() {
        return List.of(
                new AdamCase("defaults, decay, no sum", 0.9, 0.999, 1e-8, 0.1, Clip.NO_SUM),
                new AdamCase("no decay, maxGradNorm 0", 0.9, 0.999, 1e-8, 0, Clip.ZERO_MAX_NORM),
                new AdamCase("decay, clipping inactive", 0.9, 0.999, 1e-8, 0.01, Clip.INACTIVE),
                // clipping scales m and v alike, so the update only sees it where eps is comparable to √v̂
                new AdamCase("eps 1e-4, clipping active", 0.9, 0.999, 1e-4, 0.01, Clip.ACTIVE),
                // 1 − β1 ≥ 0.5: torch's lerp takes its other branch
                new AdamCase("beta1 0.3, beta2 0.99, clipping active", 0.3, 0.99, 1e-4, 0.1, Clip.ACTIVE),
                new AdamCase("beta1 0.3, no decay, no sum", 0.3, 0.999, 1e-8, 0, Clip.NO_SUM));
    }

    /** N(0, 1) scaled per element by 10^(−4·U(0,1)), so that for some elements √v̂ is near eps. */
    private float[][] gradients(int steps, int n) {
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) scale[i] = Math.pow(10, -4 * rnd.nextDouble());
        float[][] g = new float[steps][n];
        for (int t = 0; t < steps; t++) for (int i = 0; i < n; i++) g[t][i] = (float) (rnd.nextGaussian() * scale[i]);
        return g;
    }

    private static double squaredNorm(float[] g) {
        double s = 0;
        for (float x : g) s += (double) x * x;
        return s;
    }

    /**
     * Six steps of CpuBackend.adamw on fresh gradients, after each step (1) bit for bit against a float32
     * replay of torch's _single_tensor_adam and (2) against the float64 closed form of the same update,
     * within twice a first-order bound on the f32 roundings that each element's own values give:
     * <pre>
     *   v: relative error ≤ 16u more per step (positive terms: β2·v and (1−β2)·g·g, g itself within ~5u
     *      after the clipping factor's four roundings; three roundings, two rounded constants)
     *   m: absolute error ≤ 8u·(|m_prev| + |g|) more per step (m + w·(g − m) may cancel)
     *   p: ≤ 3u·|p| (rounded decay constant, product, sum) + |U|·(8u + relErr(v)/2) + s·err(m)/denom
     *      per step, U = s·m/denom the update, s = lr/(1 − β1^t), denom = √v/√(1 − β2^t) + eps
     * </pre>
     * (u = 2⁻²⁴). Errors made in earlier steps are only damped (β1, β2, the decay ≤ 1), so the bounds add.
     * A wrong formula (a missing bias correction, decay or clip) is off by ~1e-3·lr or more, far outside.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("adamCases")
    void adamwIsTorchsUpdate(AdamCase c) {
        int n = 3001, steps = 6;
        double lr = 1e-2;
        float[][] grads = gradients(steps, n);
        double minNorm = Double.MAX_VALUE;
        for (float[] g : grads) minNorm = Math.min(minNorm, Math.sqrt(squaredNorm(g)));
        double maxGradNorm = switch (c.clip()) {
            case NO_SUM -> 1.0;
            case ZERO_MAX_NORM -> 0;
            case INACTIVE -> 1e6;
            case ACTIVE -> 0.3 * minNorm;
        };
        boolean clipping = c.clip() == Clip.INACTIVE || c.clip() == Clip.ACTIVE;

        float[] p32 = new float[n], m32 = new float[n], v32 = new float[n];
        double[] p64 = new double[n], m64 = new double[n], v64 = new double[n];
        double[] errP = new double[n], errM = new double[n];
        double relErrV = 0;
        for (int i = 0; i < n; i++) p64[i] = p32[i] = (float) rnd.nextGaussian();

        try (Tensor value = Tensor.of(p32.clone(), n); Tensor m = Tensor.zeros(DType.F32, n); Tensor v = Tensor.zeros(DType.F32, n)) {
            for (int t = 1; t <= steps; t++) {
                float[] g = grads[t - 1];
                AdamWStep st = new AdamWStep(lr, c.beta1(), c.beta2(), c.eps(), c.weightDecay(), t, maxGradNorm);
                try (Tensor grad = Tensor.of(g.clone(), n); Tensor sum = Tensor.zeros(DType.F64, 1)) {
                    cpu.sumOfSquares(grad, sum);
                    cpu.adamw(value, null, grad, m, v, c.clip() == Clip.NO_SUM ? null : sum, st);
                    replayTorchSingleTensorAdamW(p32, m32, v32, g, clipping, sum.getDouble(0), st);
                }
                for (int i = 0; i < n; i++) {
                    assertBits(p32[i], value.getFloat(i), c + ", step " + t + ": value " + i);
                    assertBits(m32[i], m.getFloat(i), c + ", step " + t + ": m " + i);
                    assertBits(v32[i], v.getFloat(i), c + ", step " + t + ": v " + i);
                }

                // the float64 closed form, and the bounds of the f32 roundings
                double clip = clipping ? Math.min(1, maxGradNorm / (Math.sqrt(squaredNorm(g)) + 1e-6)) : 1;
                if (c.clip() == Clip.ACTIVE) assertTrue(clip < 0.5, c + ": clipping is not active at step " + t + " (" + clip + ")");
                if (c.clip() == Clip.INACTIVE) assertEquals(1.0, clip, c + ": clipping is active at step " + t);
                double bc1 = 1 - Math.pow(c.beta1(), t), bc2 = 1 - Math.pow(c.beta2(), t), s = lr / bc1;
                relErrV += 16 * U;
                for (int i = 0; i < n; i++) {
                    double gi = g[i] * clip, mPrev = m64[i], pPrev = p64[i];
                    m64[i] = c.beta1() * mPrev + (1 - c.beta1()) * gi;
                    v64[i] = c.beta2() * v64[i] + (1 - c.beta2()) * gi * gi;
                    double denom = Math.sqrt(v64[i]) / Math.sqrt(bc2) + c.eps();
                    double update = s * m64[i] / denom;
                    p64[i] = pPrev * (1 - lr * c.weightDecay()) - update;
                    errM[i] += 8 * U * (Math.abs(mPrev) + Math.abs(gi));
                    errP[i] += 3 * U * Math.max(Math.abs(pPrev), Math.abs(p64[i])) + Math.abs(update) * (8 * U + relErrV / 2)
                            + s * errM[i] / denom;
                }
                for (int i = 0; i < n; i++) {
                    assertWithin(p64[i], value.getFloat(i), 2 * errP[i], c + ", step " + t + ": p " + i);
                    assertWithin(m64[i], m.getFloat(i), 2 * errM[i], c + ", step " + t + ": m " + i);
                    assertWithin(v64[i], v.getFloat(i), 2 * relErrV * v64[i], c + ", step " + t + ": v " + i);
                }
            }
        }
    }

    /**
     * torch.optim.adamw's _single_tensor_adam for one f32 tensor, written from its sequence of in-place
     * operations, each rounded once to f32 with its Python-float scalar rounded to f32 first (how ATen
     * applies a scalar to a float tensor); the gradient is first multiplied in place by the clipping
     * factor (AdamWStep.clipFactor, the project's statement of clip_grad_norm_'s coefficient). addcdiv is
     * a + value·(t1/t2), the order of ATen's CUDA kernel (its CPU kernel rounds (value·t1)/t2 instead).
     */
    private static void replayTorchSingleTensorAdamW(float[] param, float[] expAvg, float[] expAvgSq, float[] grad, boolean clipping,
                                                     double sumOfSquares, AdamWStep st) {
        float clipCoef = st.clipFactor(sumOfSquares);
        double biasCorrection1 = 1 - Math.pow(st.beta1(), st.step());
        double biasCorrection2 = 1 - Math.pow(st.beta2(), st.step());
        double stepSize = st.lr() / biasCorrection1;
        double biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
        for (int i = 0; i < param.length; i++) {
            float g = grad[i];
            if (clipping) g = g * clipCoef;                                 // grad.mul_(clip_coef_clamped)
            float p = param[i] * (float) (1 - st.lr() * st.weightDecay()); // param.mul_(1 - lr * weight_decay)
            float weight = (float) (1 - st.beta1());                        // exp_avg.lerp_(grad, 1 - beta1)
            float ea = expAvg[i];
            ea = Math.abs(weight) < 0.5f ? ea + weight * (g - ea) : g - (g - ea) * (1f - weight);
            float eas = expAvgSq[i] * (float) st.beta2();                   // exp_avg_sq.mul_(beta2)
            eas = eas + (float) (1 - st.beta2()) * g * g;                   // .addcmul_(grad, grad, value=1 - beta2)
            float denom = (float) Math.sqrt(eas);                           // exp_avg_sq.sqrt()
            denom = denom / (float) biasCorrection2Sqrt;                    // / bias_correction2_sqrt
            denom = denom + (float) st.eps();                               // .add_(eps)
            p = p + (float) -stepSize * (ea / denom);                       // param.addcdiv_(exp_avg, denom, value=-step_size)
            param[i] = p;
            expAvg[i] = ea;
            expAvgSq[i] = eas;
        }
    }

    private static void assertBits(float expected, float actual, String what) {
        if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
            throw new AssertionError(what + ": " + actual + " is not the f32 replay's " + expected);
        }
    }

    private static void assertWithin(double expected, double actual, double tol, String what) {
        if (!(Math.abs(actual - expected) <= tol)) {
            throw new AssertionError(what + ": " + actual + " differs from float64's " + expected + " by " + Math.abs(actual - expected)
                    + " > " + tol);
        }
    }

    // ---- sum of squares -----------------------------------------------------------------------

    /**
     * Into an accumulator holding 2.5 already, over five CPU chunks and a ragged end of values spanning
     * twelve decades. Each x² is exact in f64 and the BigDecimal sum is exact, so the only error is
     * CpuBackend's f64 additions: at most (2¹⁶ per chunk + chunks + 1)·2⁻⁵³ relative.
     */
    @Test
    void sumOfSquaresAddsTheExactSum() {
        int n = 5 * 65536 + 77;
        try (Tensor x = Tensor.zeros(DType.F32, n); Tensor acc = Tensor.zeros(DType.F64, 1)) {
            BigDecimal exact = new BigDecimal("2.5");
            for (int i = 0; i < n; i++) {
                float xi = (float) (rnd.nextGaussian() * Math.pow(10, 6 - 12 * rnd.nextDouble()));
                x.setFloat(i, xi);
                exact = exact.add(new BigDecimal((double) xi * xi));
            }
            acc.setDouble(0, 2.5);
            cpu.sumOfSquares(x, acc);
            double want = exact.doubleValue();
            double tol = (65536 + 6 + 1) * 0x1p-53 * want;
            assertWithin(want, acc.getDouble(0), tol, "sum of squares");
        }
    }

    // ---- dropout ------------------------------------------------------------------------------

    /** n values, none of them zero, so that a kept element is told from a dropped one. */
    private Tensor nonZero(int n) {
        Tensor t = Tensor.zeros(DType.F32, n);
        for (int i = 0; i < n; i++) {
            float x;
            do x = (float) rnd.nextGaussian(); while (x == 0f);
            t.setFloat(i, x);
        }
        return t;
    }

    /**
     * The kept elements are exactly those whose splitmix64 draw (the JDK's own SplittableRandom(seed):
     * its k-th nextLong() is splitmix64(seed + k·0x9E3779B97F4A7C15), element k − 1's draw) has its top 24
     * bits, as a uniform in [0, 1), at or above p; each is x·(1/(1−p)) rounded once, the others +0. The
     * kept count is within 6σ of Binomial(n, 1 − ⌈p·2²⁴⌉/2²⁴), the exact keep probability of a 24-bit
     * uniform (a one-in-10⁹ chance of a false failure, and the seeds are fixed).
     */
    @ParameterizedTest
    @ValueSource(floats = {0.1f, 0.5f})
    void dropoutKeepsTheSplitmixMaskScaled(float p) {
        int n = 200_003;
        long seed = 0xC0FFEE1234L;
        float scale = (float) (1 / (1 - (double) p));
        try (Tensor x = nonZero(n); Tensor out = Tensor.zeros(DType.F32, n)) {
            cpu.dropout(x, out, p, seed);
            SplittableRandom stream = new SplittableRandom(seed);
            int kept = 0;
            for (int i = 0; i < n; i++) {
                boolean keep = (stream.nextLong() >>> 40) * 0x1p-24 >= p;
                float want = keep ? x.getFloat(i) * scale : 0f;
                assertBits(want, out.getFloat(i), "p " + p + ", element " + i + (keep ? " (kept)" : " (dropped)"));
                if (keep) kept++;
            }
            double pKeep = 1 - Math.ceil(p * 0x1p24) / 0x1p24;
            double sigma = Math.sqrt(n * pKeep * (1 - pKeep));
            assertTrue(Math.abs(kept - n * pKeep) <= 6 * sigma, "p " + p + ": " + kept + " of " + n + " kept, expected " + n * pKeep);
        }
    }

    /** out += dropout(x): the mask and scale of dropout, each kept element added in f32. */
    @ParameterizedTest
    @ValueSource(floats = {0f, 0.05f, 0.5f})
    void dropoutAddAddsTheDroppedOutInput(float p) {
        int n = 100_003;
        long seed = 0xABCDEF01L;
        try (Tensor x = nonZero(n); Tensor acc = nonZero(n); Tensor d = Tensor.zeros(DType.F32, n); Tensor want = Tensor.zeros(DType.F32, n)) {
            cpu.dropout(x, d, p, seed);
            for (int i = 0; i < n; i++) want.setFloat(i, acc.getFloat(i) + d.getFloat(i));
            cpu.dropoutAdd(x, acc, p, seed);
            for (int i = 0; i < n; i++) assertBits(want.getFloat(i), acc.getFloat(i), "p " + p + ", element " + i);
        }
    }

    @Test
    void dropoutWithPZeroKeepsEverything() {
        int n = 10_007;
        try (Tensor x = nonZero(n); Tensor out = Tensor.zeros(DType.F32, n)) {
            cpu.dropout(x, out, 0f, 42);
            for (int i = 0; i < n; i++) assertBits(x.getFloat(i), out.getFloat(i), "p 0, element " + i);
        }
    }

    /** The same seed draws the same mask (also in place, as the backward calls it); another seed an independent one. */
    @Test
    void dropoutMaskIsAFunctionOfTheSeed() {
        int n = 100_003;
        float p = 0.5f;
        try (Tensor x = nonZero(n); Tensor a = Tensor.zeros(DType.F32, n); Tensor b = Tensor.zeros(DType.F32, n);
             Tensor other = Tensor.zeros(DType.F32, n); Tensor inPlace = x.to(DType.F32)) {
            cpu.dropout(x, a, p, 7);
            cpu.dropout(x, b, p, 7);
            cpu.dropout(inPlace, inPlace, p, 7);
            cpu.dropout(x, other, p, 8);
            int differ = 0;
            for (int i = 0; i < n; i++) {
                assertBits(a.getFloat(i), b.getFloat(i), "same seed, element " + i);
                assertBits(a.getFloat(i), inPlace.getFloat(i), "same seed in place, element " + i);
                if ((a.getFloat(i) == 0f) != (other.getFloat(i) == 0f)) differ++;
            }
            // two independent masks of p = 1/2 disagree on each element with probability 1/2
            double sigma = Math.sqrt(n * 0.25);
            assertTrue(Math.abs(differ - n * 0.5) <= 6 * sigma, "seeds 7 and 8 disagree on " + differ + " of " + n + " elements");
        }
    }

    // ---- scale -------------------------------------------------------------------------------

    @Test
    void scaleIsOneF32Product() {
        int n = 40_009;
        float s = 0.3712f;
        try (Tensor x = nonZero(n); Tensor original = x.to(DType.F32)) {
            cpu.scale(x, s);
            for (int i = 0; i < n; i++) assertBits(original.getFloat(i) * s, x.getFloat(i), "element " + i);
        }
    }
}
