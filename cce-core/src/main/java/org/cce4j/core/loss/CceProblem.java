package org.cce4j.core.loss;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * One validated loss problem, the part every implementation shares: the sizes, and for each row of
 * E the target it predicts (after the shift) and its weight. Validation happens here, once, with
 * messages that name the tensor and the rule, so that CPU and CUDA refuse the same inputs alike.
 * <pre>
 *   E [B, T, D] (or [N, D] = one sequence)    row r = b*T + t predicts targets[b*T + t + shift]
 *   targetOfRow[r] = -1  where t + shift >= T or the target is the ignore index
 * </pre>
 * Targets and weights must be host tensors (O(N) bytes; a device implementation copies them).
 */
public final class CceProblem {
    public final int rows;
    public final int vocab;
    public final int dim;
    public final long[] leadingShape;
    /** Per row: the vocabulary index it predicts, or -1 when the row does not count. */
    public final int[] targetOfRow;
    /** Per row: its weight (1 without token weights; irrelevant where the row does not count). */
    public final float[] weightOfRow;
    /** Rows that count, in increasing order. */
    public final int[] countingRows;
    /** The sum of the weights of the rows that count: the denominator of the mean. */
    public final double weightSum;
    /** The narrowest float epsilon among E and C, for the automatic filter threshold. */
    public final double inputEpsilon;

    private CceProblem(int rows, int vocab, int dim, long[] leadingShape, int[] targetOfRow, float[] weightOfRow,
                       int[] countingRows, double weightSum, double inputEpsilon) {
        this.rows = rows;
        this.vocab = vocab;
        this.dim = dim;
        this.leadingShape = leadingShape;
        this.targetOfRow = targetOfRow;
        this.weightOfRow = weightOfRow;
        this.countingRows = countingRows;
        this.weightSum = weightSum;
        this.inputEpsilon = inputEpsilon;
    }

    /**
     * The checks that need only the tensors' shapes, dtypes and devices, not the targets' values: what
     * a device kernel can be launched on while the host still validates the targets ({@link #of} repeats them).
     */
    public static void checkShapes(CceInputs in) {
        Tensor e = require(in.embeddings(), "embeddings");
        Tensor c = require(in.classifier(), "classifier");
        Tensor t = require(in.targets(), "targets");
        if (e.rank() < 2) fail("embeddings must have shape [..., D], got " + Shapes.toString(e.shape()));
        if (c.rank() != 2) fail("classifier must have shape [V, D], got " + Shapes.toString(c.shape()));
        requireFloat(e, "embeddings");
        requireFloat(c, "classifier");
        if (e.dim(-1) != c.dim(1)) {
            fail("embeddings " + Shapes.toString(e.shape()) + " and classifier " + Shapes.toString(c.shape())
                    + " disagree on D (" + e.dim(-1) + " vs " + c.dim(1) + ")");
        }
        long[] lead = Arrays.copyOf(e.shape(), e.rank() - 1);
        if (!Arrays.equals(t.shape(), lead)) {
            fail("targets must have shape " + Shapes.toString(lead) + " (the leading shape of embeddings "
                    + Shapes.toString(e.shape()) + "), got " + Shapes.toString(t.shape()));
        }
        if (t.dtype() != DType.I32 && t.dtype() != DType.I64) fail("targets must be int32 or int64, got " + t.dtype().shortName());
        if (!e.device().equals(c.device())) fail("embeddings are on " + e.device() + " but the classifier is on " + c.device());
        long n = Shapes.numel(lead);
        if (n == 0) fail("embeddings " + Shapes.toString(e.shape()) + " hold no rows");
        if (c.dim(0) == 0) fail("classifier " + Shapes.toString(c.shape()) + " has an empty vocabulary");
        if (c.dim(1) == 0) fail("embeddings and classifier have D = 0");
        if (n > Integer.MAX_VALUE - 64 || c.dim(0) > Integer.MAX_VALUE - 64 || c.dim(1) > (1 << 24)) {
            fail("sizes N=" + n + ", V=" + c.dim(0) + ", D=" + c.dim(1) + " exceed what this implementation indexes");
        }
        int vocab = (int) c.dim(0);
        if (in.bias() != null) {
            Tensor b = in.bias();
            requireFloat(b, "bias");
            if (b.rank() != 1 || b.dim(0) != vocab) fail("bias must have shape [" + vocab + "], got " + Shapes.toString(b.shape()));
            if (!b.device().equals(c.device())) fail("bias is on " + b.device() + " but the classifier is on " + c.device());
        }
        Tensor w = in.tokenWeights();
        if (w != null) {
            requireFloat(w, "token weights");
            if (!Arrays.equals(w.shape(), lead)) fail("token weights must have shape " + Shapes.toString(lead) + ", got " + Shapes.toString(w.shape()));
        }
    }

    public static CceProblem of(CceInputs in, CceOptions options) {
        checkShapes(in);
        Tensor e = in.embeddings(), c = in.classifier(), t = in.targets(), w = in.tokenWeights();
        long[] lead = Arrays.copyOf(e.shape(), e.rank() - 1);
        int rows = (int) Shapes.numel(lead);
        int vocab = (int) c.dim(0);
        if (!t.device().isCpu() || (w != null && !w.device().isCpu())) {
            throw new IllegalArgumentException("targets and token weights must be host tensors here (copy them first)");
        }

        int seqLen = (int) lead[lead.length - 1];
        int shift = options.shift();
        if (shift > 0 && shift >= seqLen) fail("shift " + shift + " leaves no targets in sequences of length " + seqLen);
        int ignore = options.ignoreIndex();
        int[] targetOfRow = new int[rows];
        float[] weightOfRow = new float[rows];
        int counting = 0;
        double weightSum = 0;
        for (int r = 0; r < rows; r++) {
            long target = t.getLong(r);
            if (target != ignore && (target < 0 || target >= vocab)) {
                fail("target " + target + " at position " + r + " is outside [0, " + vocab + ") and is not the ignore index " + ignore);
            }
            if (w != null) {
                float wr = w.getFloat(r);
                if (!Float.isFinite(wr)) fail("token weight at position " + r + " is " + wr);
            }
        }
        for (int r = 0; r < rows; r++) {
            int pos = r % seqLen;
            int src = r + shift;
            long target = pos + shift < seqLen ? t.getLong(src) : ignore;
            targetOfRow[r] = target == ignore ? -1 : (int) target;
            weightOfRow[r] = w == null ? 1f : w.getFloat(src < rows ? src : r);
            if (targetOfRow[r] >= 0) {
                counting++;
                weightSum += weightOfRow[r];
            }
        }
        int[] countingRows = new int[counting];
        for (int r = 0, k = 0; r < rows; r++) {
            if (targetOfRow[r] >= 0) countingRows[k++] = r;
        }
        double eps = Math.max(e.dtype().epsilon(), c.dtype().epsilon());
        return new CceProblem(rows, vocab, (int) c.dim(1), lead, targetOfRow, weightOfRow, countingRows, weightSum, eps);
    }

    /**
     * The factor that turns a token's loss into its share of the reduced loss, times the upstream
     * gradient: 1/W for the mean (0 when nothing counts), 1 for the sum, and the row's own upstream
     * value for none.
     */
    public float[] upstreamScale(Reduction reduction, Tensor upstream) {
        float[] scale = new float[rows];
        if (reduction == Reduction.NONE) {
            if (upstream.numel() != rows || !upstream.device().isCpu()) {
                fail("with reduction none the upstream gradient must be a host tensor of shape " + Shapes.toString(leadingShape)
                        + ", got " + upstream);
            }
            for (int r = 0; r < rows; r++) scale[r] = upstream.getFloat(r);
        } else {
            if (upstream.numel() != 1) fail("the upstream gradient of a reduced loss must be a scalar, got " + upstream);
            float up = upstream.getFloat(0);
            float s = reduction == Reduction.SUM ? up : weightSum == 0 ? 0f : (float) (up / weightSum);
            Arrays.fill(scale, s);
        }
        return scale;
    }

    private static Tensor require(Tensor t, String name) {
        if (t == null) fail(name + " are missing");
        return t;
    }

    private static void requireFloat(Tensor t, String name) {
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16) fail(name + " must be f32, bf16 or f16, got " + d.shortName());
    }

    private static void fail(String message) {
        throw new InvalidInputException(message);
    }
}
