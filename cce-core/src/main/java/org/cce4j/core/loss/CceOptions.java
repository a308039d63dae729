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
 * @param filterEps      the backward skips a block when every |p − onehot| in it is below this (for the
 *                       gradients whose filter is on, see filterEGrad and filterCGrad);
 *                       NaN = automatic (the input dtype's epsilon / 32: 2⁻¹² for bf16), 0 = off
 * @param labelSmoothing α in [0, 1]
 * @param zLossWeight    λ ≥ 0
 * @param vocabSorting   the backward visits the vocabulary sorted by average logit, so that the
 *                       blocks that matter cluster and the rest are skipped whole
 * @param returnLse      compute lse for every row, including rows that do not count (otherwise those
 *                       are skipped and hold NaN)
 * @param accuracy       the forward also finds each counted row's argmax over the vocabulary (the first
 *                       maximal index, as torch.argmax) and reports whether it is the target
 *                       ({@link CceForward#correct()}, {@link CceForward#correctCount()}); off, it costs nothing
 * @param filterEGrad    the backward may skip, for dE, blocks whose gradient is below filterEps
 * @param filterCGrad    the same for dC and dBias; false gives the classifier the contribution of every
 *                       (row, vocabulary) block (the CCE paper's "full C") while dE may still skip
 */
public record CceOptions(int ignoreIndex, float softcap, Reduction reduction, int shift, float filterEps,
                         float labelSmoothing, float zLossWeight, boolean vocabSorting, boolean returnLse,
                         boolean accuracy, boolean filterEGrad, boolean filterCGrad) {

    public static final int DEFAULT_IGNORE_INDEX = -100;

    public CceOptions {
        if (reduction == null) throw new IllegalArgumentException("reduction must not be null");
        if (!(softcap >= 0) || Float.isInfinite(softcap)) throw new IllegalArgumentException("softcap must be a finite number >= 0, got " + softcap);
        if (shift < 0) throw new IllegalArgumentException("shift must be >= 0, got " + shift);
        if (filterEps < 0 || Float.isInfinite(filterEps)) throw new IllegalArgumentException("filterEps must be >= 0 (or NaN for automatic), got " + filterEps);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new IllegalArgumentException("labelSmoothing must be in [0, 1], got " + labelSmoothing);
        if (!(zLossWeight >= 0) || Float.isInfinite(zLossWeight)) throw new IllegalArgumentException("zLossWeight must be a finite number >= 0, got " + zLossWeight);
    }

    /**
     * ignoreIndex −100, no softcap, mean, no shift, automatic filter on both gradients, no smoothing or
     * z-loss, sorting on, no lse for ignored rows, no accuracy.
     */
    public static CceOptions defaults() {
        return new CceOptions(DEFAULT_IGNORE_INDEX, 0f, Reduction.MEAN, 0, Float.NaN, 0f, 0f, true, false, false, true, true);
    }

    public CceOptions withIgnoreIndex(int v) { return new CceOptions(v, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withSoftcap(float v) { return new CceOptions(ignoreIndex, v, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withReduction(Reduction v) { return new CceOptions(ignoreIndex, softcap, v, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withShift(int v) { return new CceOptions(ignoreIndex, softcap, reduction, v, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withFilterEps(float v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, v, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withLabelSmoothing(float v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, v, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withZLossWeight(float v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, v, vocabSorting, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withVocabSorting(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, v, returnLse, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withReturnLse(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, v, accuracy, filterEGrad, filterCGrad); }
    public CceOptions withAccuracy(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, v, filterEGrad, filterCGrad); }
    public CceOptions withFilterEGrad(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, v, filterCGrad); }
    public CceOptions withFilterCGrad(boolean v) { return new CceOptions(ignoreIndex, softcap, reduction, shift, filterEps, labelSmoothing, zLossWeight, vocabSorting, returnLse, accuracy, filterEGrad, v); }

    /** The filter threshold in effect for inputs whose narrowest float type has this epsilon. */
    public float effectiveFilterEps(double inputEpsilon) {
        return Float.isNaN(filterEps) ? (float) (inputEpsilon / 32) : filterEps;
    }

    /** The threshold below which dE's blocks may be skipped: {@link #effectiveFilterEps}, or 0 (none) without filterEGrad. */
    public float embeddingFilterEps(double inputEpsilon) {
        return filterEGrad ? effectiveFilterEps(inputEpsilon) : 0f;
    }

    /** The threshold below which dC's and dBias's blocks may be skipped: {@link #effectiveFilterEps}, or 0 without filterCGrad. */
    public float classifierFilterEps(double inputEpsilon) {
        return filterCGrad ? effectiveFilterEps(inputEpsilon) : 0f;
    }
}
