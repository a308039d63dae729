package org.cce4j.transformer.generate;

import java.util.Arrays;

/**
 * The next token from the logits of the last position, as transformers' generate chooses it:
 * <pre>
 *   greedy (temperature 0)   argmax, the first of equal maxima (torch.argmax)
 *   sampling                 s = logits / temperature                       (TemperatureLogitsWarper, f32)
 *                            top-k: s_i = −∞ where s_i < the k-th largest  (TopKLogitsWarper)
 *                            top-p: sort s ascending, c = cumsum(softmax(s)); s_i = −∞ where c_i ≤ 1 − p,
 *                                   the largest always kept              (TopPLogitsWarper)
 *                            p = softmax(s); one draw u ~ U[0, 1) from SplitMix64; the token is the
 *                            first (by id) whose cumulative p exceeds u
 * </pre>
 * Softmax and cumulative sums are in f64 (torch's are f32), and equal logits are sorted by id, so a
 * token at the edge of the nucleus may fall differently than in torch; the draws are not torch's
 * either. Greedy decoding is exact.
 */
public final class Sampler {
    private final SamplingOptions options;
    private final SplitMix64 rng;

    public Sampler(SamplingOptions options) {
        this.options = options;
        this.rng = new SplitMix64(options.seed());
    }

    /** The next token; a NaN logit (a diverged model) is an IllegalStateException. */
    public int next(float[] logits) {
        if (options.isGreedy()) return argmax(logits);
        double[] p = distribution(logits);
        double u = rng.nextDouble(), c = 0;
        int last = -1;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) continue;
            c += p[i];
            last = i;
            if (u < c) return i;
        }
        return last;   // u above the sum's rounding: the last kept token
    }

    /** The first index of the largest logit. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 0; i < logits.length; i++) {
            if (Float.isNaN(logits[i])) throw new IllegalStateException("the model gave a NaN logit (token " + i + ")");
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }

    /**
     * The probabilities a sampled token is drawn from (after temperature, top-k and top-p), or for
     * greedy decoding the one-hot of the argmax.
     */
    public double[] distribution(float[] logits) {
        int v = logits.length;
        double[] p = new double[v];
        if (options.isGreedy()) {
            p[argmax(logits)] = 1;
            return p;
        }
        float t = (float) options.temperature();
        float[] s = new float[v];
        for (int i = 0; i < v; i++) {
            if (Float.isNaN(logits[i])) throw new IllegalStateException("the model gave a NaN logit (token " + i + ")");
            s[i] = logits[i] / t;
        }
        if (options.topK() > 0 && options.topK() < v) {
            float[] sorted = s.clone();
            Arrays.sort(sorted);
            float kth = sorted[v - options.topK()];
            for (int i = 0; i < v; i++) if (s[i] < kth) s[i] = Float.NEGATIVE_INFINITY;
        }
        if (options.topP() < 1) {
            double[] q = softmax(s);
            int[] order = ascending(s);
            double cum = 0, cut = 1 - options.topP();
            for (int r = 0; r < v - 1; r++) {   // the last (largest) is always kept
                cum += q[order[r]];
                if (cum <= cut) s[order[r]] = Float.NEGATIVE_INFINITY;
            }
        }
        return softmax(s);
    }

    /** Indices of s by ascending value, equal values by id: one primitive sort of (order-preserving bits, id) pairs. */
    private static int[] ascending(float[] s) {
        long[] keys = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            int bits = Float.floatToIntBits(s[i]);
            bits ^= (bits >> 31) & 0x7fffffff;   // negative floats reversed: the ints order as the floats do
            keys[i] = ((long) bits << 32) | i;
        }
        Arrays.sort(keys);
        int[] order = new int[s.length];
        for (int r = 0; r < s.length; r++) order[r] = (int) keys[r];
        return order;
    }

    /** softmax in f64; −∞ entries get 0. */
    private static double[] softmax(float[] s) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : s) max = Math.max(max, x);
        double[] p = new double[s.length];
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            p[i] = s[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(s[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }
}
