package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.Tensor;

import java.util.Locale;

/**
 * What the softmax of the benchmark's inputs looks like, measured, not assumed: for {@code rows} rows
 * spread evenly over E, every logit against all of C in float64 from the stored (bf16-rounded) values,
 * softcapped as the loss would, then the row's softmax exactly. Reported as means over those rows:
 * entropy in nats, the top-1 probability, how often the target is the argmax (the first maximal
 * logit, as torch.argmax takes it), the fraction of (row, entry) probabilities above 2^-12 (the bf16
 * filter threshold: what the filtered backward cannot skip, besides the targets) and the same as a
 * count per row, and the mean loss of the sampled rows.
 * <p>
 * The cost is rows × V × D multiply-adds (64 rows at Gemma 2 2B's head: 38 G, seconds on a few cores).
 */
public record InputStatistics(String inputs, int rowsSampled, double meanEntropy, double meanTop1,
                              double targetIsArgmax, double aboveFilter, double abovePerRow, double meanLoss) {

    /** The filter threshold of bf16 inputs (CceOptions' default filterEps for bf16): 2^-12. */
    public static final double FILTER_THRESHOLD = 0x1p-12;

    /** The rows sampled by default: 64, or all of them when there are fewer. */
    public static int defaultRows(long n) {
        return (int) Math.min(n, 64);
    }

    /** Measures host inputs: E [N, D], C [V, D] (f32, bf16 or f16), targets [N]; softcap 0 for none. */
    public static InputStatistics measure(String inputs, CceInputs in, float softcap, int rows) {
        Tensor e = in.embeddings(), c = in.classifier();
        int d = Math.toIntExact(e.dim(-1));
        long n = e.numel() / d;
        int v = Math.toIntExact(c.dim(0));
        int s = (int) Math.min(rows, n);
        long[] sampled = new long[s];
        double[][] er = new double[s][d];
        float[] buf = new float[d];
        for (int r = 0; r < s; r++) {
            sampled[r] = r * n / s;
            HostRows.read(e, sampled[r], buf);
            for (int k = 0; k < d; k++) er[r][k] = buf[k];
        }
        double[][] logits = logits(er, c, v, d);
        double entropy = 0, top1 = 0, argmaxHits = 0, above = 0, loss = 0;
        double logThreshold = Math.log(FILTER_THRESHOLD);
        for (int r = 0; r < s; r++) {
            double[] z = logits[r];
            if (softcap > 0) for (int j = 0; j < v; j++) z[j] = softcap * Math.tanh(z[j] / softcap);
            int arg = 0;
            for (int j = 1; j < v; j++) if (z[j] > z[arg]) arg = j;
            double max = z[arg], sum = 0, weighted = 0;
            for (int j = 0; j < v; j++) {
                double p = Math.exp(z[j] - max);
                sum += p;
                weighted += p * (z[j] - max);
            }
            double logSum = Math.log(sum);
            entropy += logSum - weighted / sum;
            top1 += 1 / sum;
            long target = in.targets().getLong(sampled[r]);
            if (target == arg) argmaxHits++;
            loss += logSum + max - z[(int) target];
            int count = 0;
            for (int j = 0; j < v; j++) if (z[j] - max - logSum > logThreshold) count++;
            above += count;
        }
        return new InputStatistics(inputs, s, entropy / s, top1 / s, argmaxHits / s, above / s / v, above / s, loss / s);
    }

    /**
     * logits[r][j] = e_r · C_j in float64, C read in blocks of rows on the CPU pool; four rows of E against two of
     * C at a time, eight independent sums (each in the order of k, as a plain loop adds them).
     */
    private static double[][] logits(double[][] er, Tensor c, int v, int d) {
        int s = er.length;
        double[][] z = new double[s][v];
        int block = 256;
        CpuParallel.forEach((v + block - 1) / block, b -> {
            float[] row = new float[d];
            double[] c0 = new double[d], c1 = new double[d];
            int end = Math.min(v, (b + 1) * block);
            for (int j = b * block; j < end; j += 2) {
                boolean pair = j + 1 < end;
                HostRows.read(c, j, row);
                for (int k = 0; k < d; k++) c0[k] = row[k];
                if (pair) {
                    HostRows.read(c, j + 1, row);
                    for (int k = 0; k < d; k++) c1[k] = row[k];
                } else {
                    java.util.Arrays.fill(c1, 0);
                }
                int r = 0;
                for (; r + 4 <= s; r += 4) {
                    double[] e0 = er[r], e1 = er[r + 1], e2 = er[r + 2], e3 = er[r + 3];
                    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
                    for (int k = 0; k < d; k++) {
                        double x = c0[k], y = c1[k];
                        a0 += e0[k] * x;
                        a1 += e1[k] * x;
                        a2 += e2[k] * x;
                        a3 += e3[k] * x;
                        b0 += e0[k] * y;
                        b1 += e1[k] * y;
                        b2 += e2[k] * y;
                        b3 += e3[k] * y;
                    }
                    z[r][j] = a0;
                    z[r + 1][j] = a1;
                    z[r + 2][j] = a2;
                    z[r + 3][j] = a3;
                    if (pair) {
                        z[r][j + 1] = b0;
                        z[r + 1][j + 1] = b1;
                        z[r + 2][j + 1] = b2;
                        z[r + 3][j + 1] = b3;
                    }
                }
                for (; r < s; r++) {
                    double a = 0, bb = 0;
                    for (int k = 0; k < d; k++) {
                        a += er[r][k] * c0[k];
                        bb += er[r][k] * c1[k];
                    }
                    z[r][j] = a;
                    if (pair) z[r][j + 1] = bb;
                }
            }
        });
        return z;
    }

    /** One readable line: "inputs trained (64 rows of 8192 sampled): mean entropy 2.21 nats, ...". */
    public String toText() {
        return String.format(Locale.ROOT,
                "inputs %s (%d rows sampled, exact f64 softmax): mean entropy %.3f nats, mean top-1 probability %.3g, "
                        + "target = argmax %.3f, p > 2^-12 in %.3g of entries (%.1f per row), mean loss %.3f",
                inputs, rowsSampled, meanEntropy, meanTop1, targetIsArgmax, aboveFilter, abovePerRow, meanLoss);
    }

    /** A JSON object (no surrounding line): the same numbers under stable keys. */
    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"kind\":\"%s\",\"rows_sampled\":%d,\"mean_entropy_nats\":%.4f,\"mean_top1_prob\":%.4f,"
                        + "\"target_is_argmax\":%.4f,\"frac_above_filter\":%.6g,\"above_filter_per_row\":%.2f,\"mean_loss\":%.4f}",
                inputs.replace("\\", "\\\\").replace("\"", "\\\""), rowsSampled, meanEntropy, meanTop1, targetIsArgmax,
                aboveFilter, abovePerRow, meanLoss);
    }
}
