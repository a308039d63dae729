package org.cce4j.core.loss;

/**
 * The loss contract written as plainly as possible in float64, the oracle every implementation is
 * compared with. It materializes the logits and differentiates by hand; {@code NaiveCrossEntropyTest}
 * checks it against finite differences.
 */
public final class NaiveCrossEntropy {
    public final double loss;
    public final double[] tokenLoss;
    public final double[] lse;
    public final double[][] dE;
    public final double[][] dC;
    public final double[] dBias;
    /** Per row: the first index of its largest logit (torch.argmax), and the target it predicts (−1: none). */
    public final int[] argmax, targetOfRow;
    /** Per row: 1 where it counts and its argmax is its target, else 0; and how many such rows. */
    public final int[] correct;
    public final int correctCount;
    /**
     * Per row: its largest logit minus the largest logit that differs from it (exact ties, such as
     * duplicated classifier rows, are not gaps); +∞ when every logit is equal. A gap within rounding
     * makes an f32 argmax legitimately differ from this one.
     */
    public final double[] argmaxGap;

    /**
     * @param targets   per row of e, before the shift (seqLen = e.length for one sequence)
     * @param weights   per target position, or null
     * @param upstream  scalar upstream for mean/sum, or per-row for none (length rows)
     */
    public NaiveCrossEntropy(double[][] e, double[][] c, double[] bias, long[] targets, double[] weights, int seqLen,
                      CceOptions o, double[] upstream) {
        this(e, c, bias, targets, weights, seqLen, o, upstream, 0, 0, 0);
    }

    /**
     * The same with the gradient filter applied entry by entry, as the CUDA entry-list backward
     * computes it: in the first {@code filteredRows} rows, a softmax part |p·(1+2λ·lse) − α/V| below
     * {@code epsC} is dropped from dC and dBias; below {@code epsE} it is dropped from dE, where each
     * 256-entry tile's dropped parts (× softcap') come back as their sum times the mean of the tile's
     * rows of C. The one-hot part is always kept.
     */
    public NaiveCrossEntropy(double[][] e, double[][] c, double[] bias, long[] targets, double[] weights, int seqLen,
                      CceOptions o, double[] upstream, double epsE, double epsC, int filteredRows) {
        this(e, c, bias, targets, weights, seqLen, o, upstream, epsE, epsC, filteredRows, null);
    }

    /**
     * The same where a plan skips tiles, as the tensor-core entry lists do: {@code unvisited[b][t]} says
     * that the rows of 128-row block b never recompute vocabulary tile t; every entry there is dropped,
     * and dE takes their softmax parts' sum (without softcap') against the mean of all of C.
     */
    public NaiveCrossEntropy(double[][] e, double[][] c, double[] bias, long[] targets, double[] weights, int seqLen,
                      CceOptions o, double[] upstream, double epsE, double epsC, int filteredRows, boolean[][] unvisited) {
        int n = e.length, v = c.length, d = c[0].length;
        double a = o.labelSmoothing(), lam = o.zLossWeight(), cap = o.softcap();
        double[][] z = new double[n][v];
        double[][] capDeriv = new double[n][v];
        lse = new double[n];
        tokenLoss = new double[n];
        int[] target = new int[n];
        argmax = new int[n];
        argmaxGap = new double[n];
        correct = new int[n];
        int right = 0;
        double[] w = new double[n];
        double weightSum = 0, total = 0;
        for (int r = 0; r < n; r++) {
            int pos = r % seqLen;
            long t = pos + o.shift() < seqLen ? targets[r + o.shift()] : o.ignoreIndex();
            target[r] = t == o.ignoreIndex() ? -1 : (int) t;
            w[r] = weights == null ? 1 : weights[Math.min(n - 1, r + o.shift())];
            double max = Double.NEGATIVE_INFINITY, mean = 0;
            for (int j = 0; j < v; j++) {
                double x = bias == null ? 0 : bias[j];
                for (int k = 0; k < d; k++) x += e[r][k] * c[j][k];
                if (cap > 0) {
                    double th = Math.tanh(x / cap);
                    x = cap * th;
                    capDeriv[r][j] = 1 - th * th;
                } else {
                    capDeriv[r][j] = 1;
                }
                z[r][j] = x;
                max = Math.max(max, x);
                mean += x / v;
            }
            double second = Double.NEGATIVE_INFINITY;
            argmax[r] = -1;
            for (int j = 0; j < v; j++) {
                if (z[r][j] == max && argmax[r] < 0) argmax[r] = j;
                if (z[r][j] != max) second = Math.max(second, z[r][j]);
            }
            argmaxGap[r] = max - second;
            if (target[r] >= 0 && argmax[r] == target[r]) {
                correct[r] = 1;
                right++;
            }
            double s = 0;
            for (int j = 0; j < v; j++) s += Math.exp(z[r][j] - max);
            lse[r] = max + Math.log(s);
            if (target[r] >= 0) {
                tokenLoss[r] = w[r] * (lse[r] - (1 - a) * z[r][target[r]] - a * mean + lam * lse[r] * lse[r]);
                weightSum += w[r];
                total += tokenLoss[r];
            }
        }
        targetOfRow = target;
        correctCount = right;
        loss = o.reduction() == Reduction.MEAN ? (weightSum == 0 ? 0 : total / weightSum) : total;

        dE = new double[n][d];
        dC = new double[v][d];
        dBias = new double[v];
        int tiles = (v + 255) / 256;
        double[][] tileMean = new double[tiles][d];
        for (int j = 0; j < v; j++) {
            int count = Math.min(v, (j / 256 + 1) * 256) - j / 256 * 256;
            for (int k = 0; k < d; k++) tileMean[j / 256][k] += c[j][k] / count;
        }
        double[] allMean = new double[d];
        for (double[] row : c) for (int k = 0; k < d; k++) allMean[k] += row[k] / v;
        for (int r = 0; r < n; r++) {
            if (target[r] < 0) continue;
            double scale = switch (o.reduction()) {
                case MEAN -> weightSum == 0 ? 0 : upstream[0] / weightSum;
                case SUM -> upstream[0];
                case NONE -> upstream[r];
            } * w[r];
            boolean filtered = r < filteredRows;
            double[] dropped = new double[tiles];
            double unseen = 0;
            for (int j = 0; j < v; j++) {
                double p = Math.exp(z[r][j] - lse[r]);
                double part = p * (1 + 2 * lam * lse[r]) - a / v, partE = part, partC = part;
                if (filtered && unvisited != null && unvisited[r / 128][j / 256]) {
                    unseen += part;
                    partE = 0;
                    partC = 0;
                } else if (filtered && Math.abs(part) < epsE) {
                    partE = 0;
                    dropped[j / 256] += part * capDeriv[r][j];
                }
                if (filtered && Math.abs(part) < epsC) partC = 0;
                double oneHot = j == target[r] ? 1 - a : 0;
                double gE = (partE - oneHot) * scale * capDeriv[r][j], gC = (partC - oneHot) * scale * capDeriv[r][j];
                dBias[j] += gC;
                for (int k = 0; k < d; k++) {
                    dE[r][k] += gE * c[j][k];
                    dC[j][k] += gC * e[r][k];
                }
            }
            for (int t = 0; t < tiles; t++) {
                if (dropped[t] != 0) for (int k = 0; k < d; k++) dE[r][k] += scale * dropped[t] * tileMean[t][k];
            }
            if (unseen != 0) for (int k = 0; k < d; k++) dE[r][k] += scale * unseen * allMean[k];
        }
    }
}
