package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * Benchmark inputs whose softmax looks like a trained language model's head (bench-loss --inputs trained).
 * <pre>
 *   C_j = g_j + π_j·u        g_j ~ N(0, σ²·I), σ = D^-0.25; u a random unit vector;
 *                           π_j = −ln(1 + j): a Zipf prior, token ids ranked by frequency as in BPE vocabularies
 *   E_i = ⊥u[ Σ_k a_ik·g_ck + β·n_i ] + u     c_1..c_K: K = 8 distinct "candidate" tokens drawn from Zipf(1) over the ids;
 *                           ⊥u removes the component along u, so E_i·C_j = (head and noise)·g_j + π_j (+ u·g_j, tiny)
 *   a_ik = (ℓ_ik − π_ck) / |g_ck|²,  ℓ_ik = h + δ_i − γ·ln(k)   so that candidate k's logit is ≈ ℓ_ik:
 *                           the head is itself Zipf-shaped (γ = 1), δ_i ~ N(0, 2²) makes some rows sure and some not;
 *   β·n_i, n_i ~ N(0, I):   a noise of std s = 1.5 on every tail logit (D ≥ 2048: rows nearly orthogonal, so the head
 *                           leaks into the tail only a little, std |ℓ − π|/√D)
 * </pre>
 * The tail's logits are then π_j plus a Gaussian, a log-normal mass over Zipf-weighted entries. One scale
 * is calibrated, the head level h: bisected so that a model of each row's softmax (its K candidate logits
 * exactly, the tail by its expectation, e^{s²/2}·Σ e^{π_j}) has a mean entropy of 2.25 nats; then the
 * exact statistics of 32 rows ({@link InputStatistics}) are measured and, when their mean entropy is more
 * than 0.15 nats off, h is re-solved for the model's error, at most twice. Targets are drawn from each row's softmax: a candidate with its exact
 * probability (from the stored, rounded values), or the tail with the modelled mass, where the token is
 * picked by sampling-importance-resampling (8 Zipf proposals weighed by their exact logits).
 * Every draw is a function of (seed, row) or (seed, block), so the inputs do not depend on the thread count.
 */
final class TrainedInputs {
    static final int CANDIDATES = 8;
    static final double HEAD_DECAY = 1.0;
    static final double ROW_SPREAD = 2.0;
    static final double TAIL_NOISE = 1.5;
    static final double TARGET_ENTROPY = 2.25;
    static final int TAIL_PROPOSALS = 8;
    private static final int CORRECTIONS = 2;
    private static final double TOLERANCE = 0.15;
    private static final int CHECK_ROWS = 32;

    private TrainedInputs() {}

    static CceInputs create(int n, int d, int v, DType dtype, long seed) {
        double sigma = Math.pow(d, -0.25);
        float[] u = unitVector(d, new SplittableRandom(mix(seed, -1)));
        Tensor c = Tensor.zeros(dtype, v, d);
        fillClassifier(c, u, sigma, seed);
        Head head = Head.build(c, u, n, d, v, sigma, dtype, seed);
        Tensor e = Tensor.zeros(dtype, n, d);
        Tensor t = Tensor.zeros(DType.I64, n);
        CceInputs in = CceInputs.of(e, c, t);
        double target = TARGET_ENTROPY;
        double h = head.solve(target, n);
        for (int round = 0; ; round++) {
            head.write(e, t, c, h, seed);
            if (round == CORRECTIONS) break;
            InputStatistics s = InputStatistics.measure("trained", in, 0, CHECK_ROWS);
            if (Math.abs(s.meanEntropy() - TARGET_ENTROPY) <= TOLERANCE) break;
            // the model's error on the sampled rows, taken off the model's target
            target += TARGET_ENTROPY - s.meanEntropy();
            h = head.solve(target, n);
        }
        return in;
    }

    /** C_j = g_j + π_j·u, blocks of 1024 rows each drawn from their own generator. */
    private static void fillClassifier(Tensor c, float[] u, double sigma, long seed) {
        int v = Math.toIntExact(c.dim(0)), d = u.length, block = 1024;
        CpuParallel.forEach((v + block - 1) / block, b -> {
            SplittableRandom rnd = new SplittableRandom(mix(seed, b));
            float[] row = new float[d];
            for (int j = b * block; j < Math.min(v, (b + 1) * block); j++) {
                double prior = prior(j);
                for (int k = 0; k < d; k++) row[k] = (float) (sigma * rnd.nextGaussian() + prior * u[k]);
                HostRows.write(c, j, row);
            }
        });
    }

    /** π_j = −ln(1 + j): the logit prior of token j, Zipf(1) in its id. */
    static double prior(long j) {
        return -Math.log1p(j);
    }

    /** A token drawn from q(j) = ln((j+2)/(j+1)) / ln(V+1), a continuous Zipf(1) over [0, V). */
    static int zipf(SplittableRandom rnd, int v) {
        return (int) Math.min(v - 1, Math.floor(Math.exp(rnd.nextDouble() * Math.log(v + 1.0))) - 1);
    }

    static double zipfProbability(int j, int v) {
        return Math.log((j + 2.0) / (j + 1.0)) / Math.log(v + 1.0);
    }

    static long mix(long seed, long i) {
        long x = seed * 0x9E3779B97F4A7C15L + i * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }

    private static float[] unitVector(int d, SplittableRandom rnd) {
        double[] x = new double[d];
        double norm = 0;
        for (int k = 0; k < d; k++) {
            x[k] = rnd.nextGaussian();
            norm += x[k] * x[k];
        }
        float[] u = new float[d];
        for (int k = 0; k < d; k++) u[k] = (float) (x[k] / Math.sqrt(norm));
        return u;
    }

    static double dot(float[] a, float[] b) {
        double s0 = 0, s1 = 0;
        int k = 0;
        for (; k + 2 <= a.length; k += 2) {
            s0 += (double) a[k] * b[k];
            s1 += (double) a[k + 1] * b[k + 1];
        }
        if (k < a.length) s0 += (double) a[k] * b[k];
        return s0 + s1;
    }

    /**
     * Every row's head before h is chosen: E_i(h) = A_i + h·B_i (both already off u, A with u added),
     * its candidates, their logits' two parts zA and zB, and what the tail model needs.
     */
    private record Head(int n, int d, int v, float[] a, float[] b, int[] candidates, double[] zA, double[] zB,
                        double[] offsets, double[] tail0, double[] tail1, double sigma, DType dtype) {

        static Head build(Tensor c, float[] u, int n, int d, int v, double sigma, DType dtype, long seed) {
            int k = CANDIDATES;
            float[] a = new float[Math.multiplyExact(n, d)], b = new float[n * d];
            int[] cand = new int[n * k];
            double[] zA = new double[n * k], zB = new double[n * k], off = new double[n * k];
            double[] tail0 = new double[n], tail1 = new double[n];
            double harmonic = 0, logHarmonic = 0;                          // Σ e^{π_j}, Σ e^{π_j}·π_j over all of V
            for (int j = 0; j < v; j++) {
                harmonic += 1.0 / (1 + j);
                logHarmonic += prior(j) / (1 + j);
            }
            double beta = TAIL_NOISE / (sigma * Math.sqrt(d));
            double h0 = harmonic, h1 = logHarmonic;
            int block = 32;
            CpuParallel.forEach((n + block - 1) / block, blk -> {
                float[][] g = new float[k][d];
                float[][] rows = new float[k][d];
                float[] ai = new float[d], bi = new float[d];
                for (int i = blk * block; i < Math.min(n, (blk + 1) * block); i++) {
                    SplittableRandom rnd = new SplittableRandom(mix(seed + 1, i));
                    double delta = ROW_SPREAD * rnd.nextGaussian();
                    java.util.Arrays.fill(ai, 0);
                    java.util.Arrays.fill(bi, 0);
                    double t0 = h0, t1 = h1;
                    for (int m = 0; m < k; m++) {
                        int id = distinctZipf(rnd, v, cand, i * k, m);
                        cand[i * k + m] = id;
                        HostRows.read(c, id, rows[m]);
                        double along = dot(rows[m], u);
                        double rho = 0;
                        for (int x = 0; x < d; x++) {
                            g[m][x] = (float) (rows[m][x] - along * u[x]);
                            rho += (double) g[m][x] * g[m][x];
                        }
                        double o = delta - HEAD_DECAY * Math.log(m + 1) - prior(id);
                        off[i * k + m] = o;
                        for (int x = 0; x < d; x++) {
                            ai[x] += (float) (o / rho * g[m][x]);
                            bi[x] += (float) (g[m][x] / rho);
                        }
                        t0 -= 1.0 / (1 + id);
                        t1 -= prior(id) / (1 + id);
                    }
                    for (int x = 0; x < d; x++) ai[x] += (float) (beta * rnd.nextGaussian());
                    double au = dot(ai, u), bu = dot(bi, u);
                    for (int x = 0; x < d; x++) {
                        ai[x] = (float) (ai[x] - au * u[x] + u[x]);
                        bi[x] = (float) (bi[x] - bu * u[x]);
                    }
                    for (int m = 0; m < k; m++) {
                        zA[i * k + m] = dot(ai, rows[m]);
                        zB[i * k + m] = dot(bi, rows[m]);
                    }
                    tail0[i] = t0;
                    tail1[i] = t1;
                    System.arraycopy(ai, 0, a, i * d, d);
                    System.arraycopy(bi, 0, b, i * d, d);
                }
            });
            return new Head(n, d, v, a, b, cand, zA, zB, off, tail0, tail1, sigma, dtype);
        }

        private static int distinctZipf(SplittableRandom rnd, int v, int[] cand, int base, int m) {
            while (true) {
                int id = zipf(rnd, v);
                boolean seen = false;
                for (int q = 0; q < m; q++) seen |= cand[base + q] == id;
                if (!seen || m >= v) return id;
            }
        }

        /** The variance of row i's tail logits at level h: the noise, the head's leak, u·g_j. */
        double tailVariance(int i, double h) {
            double leak = 0;
            for (int m = 0; m < CANDIDATES; m++) {
                double delta = offsets[i * CANDIDATES + m] + h;
                leak += delta * delta;
            }
            return TAIL_NOISE * TAIL_NOISE + leak / d + sigma * sigma;
        }

        /** The tail's modelled mass Σ_{j not a candidate} e^{π_j + noise} = e^{s²/2}·Σ e^{π_j}. */
        double tailMass(int i, double h) {
            return Math.exp(tailVariance(i, h) / 2) * tail0[i];
        }

        /** The model's entropy of row i at level h. */
        double entropy(int i, double h) {
            double s2 = tailVariance(i, h), scale = Math.exp(s2 / 2);
            double z = scale * tail0[i], weighted = scale * (tail1[i] + s2 * tail0[i]);
            for (int m = 0; m < CANDIDATES; m++) {
                double l = zA[i * CANDIDATES + m] + h * zB[i * CANDIDATES + m];
                double p = Math.exp(l);
                z += p;
                weighted += p * l;
            }
            return Math.log(z) - weighted / z;
        }

        /** The level h whose modelled mean entropy over the rows is {@code target} (bisection; entropy falls as h rises). */
        double solve(double target, int rows) {
            double lo = -30, hi = 60;
            for (int it = 0; it < 60; it++) {
                double mid = (lo + hi) / 2, mean = 0;
                for (int i = 0; i < rows; i++) mean += entropy(i, mid);
                if (mean / rows > target) lo = mid;
                else hi = mid;
            }
            return (lo + hi) / 2;
        }

        /** E = A + h·B rounded into {@code e}; each row's target drawn from its softmax (see the class comment). */
        void write(Tensor e, Tensor targets, Tensor c, double h, long seed) {
            int block = 32;
            CpuParallel.forEach((n + block - 1) / block, blk -> {
                float[] row = new float[d], cr = new float[d];
                double[] logits = new double[CANDIDATES];
                int[] proposals = new int[TAIL_PROPOSALS];
                double[] weights = new double[TAIL_PROPOSALS];
                for (int i = blk * block; i < Math.min(n, (blk + 1) * block); i++) {
                    for (int x = 0; x < d; x++) row[x] = (float) (a[i * d + x] + h * b[i * d + x]);
                    HostRows.write(e, i, row);
                    HostRows.round(row, dtype);
                    double total = tailMass(i, h);
                    for (int m = 0; m < CANDIDATES; m++) {
                        HostRows.read(c, candidates[i * CANDIDATES + m], cr);
                        logits[m] = Math.exp(dot(row, cr));
                        total += logits[m];
                    }
                    SplittableRandom rnd = new SplittableRandom(mix(seed + 2, i));
                    double pick = rnd.nextDouble() * total;
                    long target = -1;
                    for (int m = 0; m < CANDIDATES && target < 0; m++) {
                        if (pick < logits[m]) target = candidates[i * CANDIDATES + m];
                        else pick -= logits[m];
                    }
                    if (target < 0) {
                        double sum = 0;
                        for (int q = 0; q < TAIL_PROPOSALS; q++) {
                            proposals[q] = zipf(rnd, v);
                            HostRows.read(c, proposals[q], cr);
                            weights[q] = Math.exp(dot(row, cr)) / zipfProbability(proposals[q], v);
                            sum += weights[q];
                        }
                        double r = rnd.nextDouble() * sum;
                        target = proposals[TAIL_PROPOSALS - 1];
                        for (int q = 0; q < TAIL_PROPOSALS; q++) {
                            if (r < weights[q]) {
                                target = proposals[q];
                                break;
                            }
                            r -= weights[q];
                        }
                    }
                    targets.setLong(i, target);
                }
            });
        }
    }
}
