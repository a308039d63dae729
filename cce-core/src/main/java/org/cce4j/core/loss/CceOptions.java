package org.cce4j.core.loss;

/**
 * Every option of the linear-cross-entropy contract. With z = softcap(E·Cᵀ + b), p = softmax(z),
 * lse = log Σ exp(z) and t the row's target, the loss of a token that counts is
 * <pre>
 *   l = w · [ lse − (1−α)·z_t − α·mean(z) + λ·lse² ]      α = labelSmoothing, λ = zLossWeight
 * </pre>
 * (α = 0, λ = 0, w = 1: the plain negative log-likelihood lse − z_t).
 *
 * @param ignoreIndex    targets equal to this do not count (loss 0, no gradient)
 * @param softcap        s > 0 maps logits through s·tanh(x/s) (Gemma 2); 0 = off
 * @param reduction      mean over the tokens that count (weighted), sum, or none (per token)
 * @param shift          row t of a sequence predicts target t+shift of the same sequence (1 for
 *                       causal LM on unshifted labels); the last {@code shift} rows have no target
 * @param filterEps      the backward skips a block when every |p − onehot| in it is below this;
 *                       NaN = automatic (the input dtype's epsilon / 32: 2⁻¹² for bf16), 0 = off
 * @param labelSmoothing α in [0, 1]
 * @param zLossWeight    λ ≥ 0
 * @param vocabSorting   the backward visits the vocabulary sorted by average logit, so that the
 *                       blocks that matter cluster and the rest are skipped whole
 * @param returnLse      compute lse for every row, including rows that do not count (otherwise those
 *                       are skipped and hold NaN)
 */
public record CceOptions(int ignoreIndex, float softcap, Reduction reduction, int shift, float filterEps,
                         float labelSmoothing, float zLossWeight, boolean vocabSorting, boolean returnLse) {

    public static final int DEFAULT_IGNORE_INDEX = -100;

    public CceOptions {
        if (reduction == null) throw new IllegalArgumentException("reduction must not be null");
        if (!(softcap >= 0) || Float.isInfinite(softcap)) throw new IllegalArgumentException("softcap must be a finite number >= 0, got " + softcap);
        if (shift < 0) throw new IllegalArgumentException("shift must be >= 0, got " + shift);
        if (filterEps < 0 || Float.isInfinite(filterEps)) throw new IllegalArgumentException("filterEps must be >= 0 (or NaN for automatic), got " + filterEps);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new IllegalArgumentException("labelSmoothing must be in [0, 1], got " + labelSmoothing);
        if (!(zLossWeight >= 0) || Float.isInfinite(zLossWeight)) throw new IllegalArgumentException("zLossWeight must be a finite number >= 0, got " + zLossWeight);
    }

    /** ignoreIndex −100, no softcap, mean, no shift, automatic filter, no smoothing or z-loss, sorting on. */
    public static CceOptions defaults() {
        return new CceOptions(DEFAULT_IGNORE_INDEX, 0f, Reduction.MEAN, 0, Float.NaN, 0f, 0f, true, false);
    }

    public CceOptions withIgnoreIndex(int v) { return new CceOptions(v, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse); }
    public CceOptions withSoftcap(float v) { return new CceOptions(ignoreIndex, v, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse); }
    public CceOptions withReduction(Reduction v) { return new CceOptions(ignoreIndex, softcap, v, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse); }
    public CceOptions withShift(int v) { return new CceOptions(ignoreIndex, softcap, reduction, v, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse); }
    public CceOptions withFilterEps(float v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, v, labelSmoothing, zLossWeight, vocabSorting, returnLse); }
    public CceOptions withLabelSmoothing(float v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, v, zLossWeight, vocabSorting, returnLse); }
    public CceOptions withZLossWeight(float v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, v, vocabSorting, returnLse); }
    public CceOptions withVocabSorting(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, v, returnLse); }
    public CceOptions withReturnLse(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, v); }

    /** The filter threshold in effect for inputs whose narrowest float type has this epsilon. */
    public float effectiveFilterEps(double inputEpsilon) {
        return Float.isNaN(filterEps) ? (float) (inputEpsilon / 32) : filterEps;
    }
}
