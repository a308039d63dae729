package org.cce4j.transformer.backend;

import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

/**
 * The operations a decoder-only transformer is made of, each with its forward and its backward,
 * on one device. The model is written once against this interface; {@link CpuBackend} is the
 * readable f32 reference and a CUDA backend implements the same contract on the GPU.
 * <p>
 * Conventions: activations are row-major [tokens, features] (M = B·T rows); a linear weight is
 * [out, in] as in PyTorch; a backward writes the input gradient (overwriting unless it says
 * "accumulate") and accumulates parameter gradients (+=); a null gradient argument means "not
 * needed" and costs nothing.
 */
public interface Backend {

    Device device();

    /** The dtype activations and weights are stored in (f32 on the CPU). */
    DType computeDType();

    /** A zero-filled tensor on this backend's device. */
    Tensor zeros(DType dtype, long... shape);

    /**
     * A tensor whose contents are undefined until written, for outputs an operation overwrites
     * completely (activations, gradients that are assigned, not accumulated): a GPU skips the fill.
     */
    default Tensor empty(DType dtype, long... shape) {
        return zeros(dtype, shape);
    }

    /** A copy of a host tensor on this device in {@code dtype}. */
    Tensor upload(Tensor host, DType dtype);

    /** A host f32 copy of a tensor of this device. */
    Tensor downloadF32(Tensor t);

    // ---- linear ----------------------------------------------------------------------------

    /** y[M,N] = x[M,K] · w[N,K]ᵀ (+ b[N]). */
    void linear(Tensor x, Tensor w, Tensor b, Tensor y);

    /** dx[M,K] (=, or += with accumulateDx) dy·w;  dw[N,K] += dyᵀ·x;  db[N] += Σ_rows dy. */
    void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db);

    // ---- normalization ----------------------------------------------------------------------

    /**
     * RMSNorm over the last dimension: y = x · rstd · g, rstd = 1/sqrt(mean(x²) + eps), g = w or
     * (1 + w) with unitOffset (Gemma). rstd [rows] is saved for the backward.
     */
    void rmsNorm(Tensor x, Tensor w, float eps, boolean unitOffset, Tensor y, Tensor rstd);

    /** dx (overwritten) and dw (accumulated) of {@link #rmsNorm}. */
    void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor dx, Tensor dw);

    /**
     * {@link #rmsNormBackward} with the residual stream's gradient added: dx = the norm's gradient at x +
     * {@code residual} (a pre-norm block's input gradient); dw accumulated. The two operations one after
     * the other, each rounding to storage; a backend may fuse them into one pass with the same result.
     */
    default void rmsNormBackwardAdd(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor residual, Tensor dx, Tensor dw) {
        rmsNormBackward(dy, x, w, rstd, unitOffset, dx, dw);
        add(dx, residual, dx);
    }

    // ---- positions and attention ---------------------------------------------------------------

    /**
     * Rotates each head of x [M, heads·headDim] in place by the angles of its token's position
     * (positions: host int[M]); {@code inverse} applies the transpose (the backward).
     */
    void rope(Tensor x, int heads, RopeTable table, int[] positions, boolean inverse);

    /** out [M, heads·hd] = softmax(mask(scores))·v; lse [M, heads] (f32) is saved for the backward. */
    void attention(AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse);

    /** dq, dk, dv (overwritten) of {@link #attention}. */
    void attentionBackward(AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                           Tensor dq, Tensor dk, Tensor dv);

    /**
     * Generation's attention: out [1, heads·hd] for one query q [1, heads·hd] over the first
     * {@code shape.keys()} rows of the caches kCache, vCache [capacity, kvHeads·hd], all visible
     * ({@link DecodeShape}). The same scores and softmax as {@link #attention}, for the last query.
     */
    void decodeAttention(DecodeShape shape, Tensor q, Tensor kCache, Tensor vCache, Tensor out);

    // ---- element-wise ------------------------------------------------------------------------

    /** out = act(gate) · up (SwiGLU, GeGLU). */
    void gatedActivation(Activation act, Tensor gate, Tensor up, Tensor out);

    /** dGate, dUp (overwritten) of {@link #gatedActivation}. */
    void gatedActivationBackward(Activation act, Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp);

    /** out[M, D] = table[ids[m]] · scale (ids: host int[M]). */
    void embedding(int[] ids, Tensor table, float scale, Tensor out);

    /**
     * dTable[ids[m]] += dOut[m] · scale, except for tokens equal to {@code paddingIdx} (−1: none), whose
     * row gets no gradient from the lookup, as torch's nn.Embedding(padding_idx=...) — what transformers
     * builds with the config's pad_token_id.
     */
    void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx);

    /** out = a + b (out may be a or b). */
    void add(Tensor a, Tensor b, Tensor out);

    /** x = cap · tanh(x / cap), in place (final logit softcapping). */
    void softcap(Tensor x, float cap);

    /** dst = src (same shape; dtypes may differ). */
    void copy(Tensor src, Tensor dst);

    // ---- training -----------------------------------------------------------------------

    /**
     * Bytes this backend's tensors hold now: the CUDA caching allocator's count (what
     * torch.cuda.memory_allocated reports), or the host tensors' on the CPU.
     */
    long bytesInUse();

    /** The peak of {@link #bytesInUse()} since the last {@link #resetPeak()}. */
    long peakBytes();

    /** Starts a new peak from what is in use now. */
    void resetPeak();

    /** A host copy of a tensor of this device, in its own dtype (the caller closes it). */
    Tensor download(Tensor t);

    /** y[M,N] += x[M,K] · w[N,K]ᵀ (a LoRA branch adding into the base projection's output). */
    void linearAccumulate(Tensor x, Tensor w, Tensor y);

    /** x ← x · s, in place (any float dtype of this backend). */
    void scale(Tensor x, float s);

    /**
     * out = dropout(x) with the mask of {@link DropoutMask} for {@code seed} (out may be x). The
     * backward is the same call on the gradient with the same seed and p.
     */
    void dropout(Tensor x, Tensor out, float p, long seed);

    /**
     * out += dropout(x) (x must not be out), equal to {@link #dropout} into a temporary followed by
     * {@link #add}: the LoRA backward's masked gradient added into dx in one pass.
     */
    default void dropoutAdd(Tensor x, Tensor out, float p, long seed) {
        try (Tensor t = empty(x.dtype(), x.shape())) {
            dropout(x, t, p, seed);
            add(out, t, out);
        }
    }

    /** acc[0] += Σ x² (x f32, acc f64 [1] on this device): the squared global gradient norm, summed without a host read. */
    void sumOfSquares(Tensor x, Tensor acc);

    /**
     * One AdamW update of a parameter ({@link AdamWStep} gives the formula). grad, m and v are f32;
     * {@code master} is the f32 copy that is updated when the parameter is stored in a narrower type
     * (then {@code value} is refreshed from it, rounded to nearest even), or null when {@code value}
     * is f32 and is updated itself. {@code gradSumOfSquares} (f64 [1]) feeds the clipping factor; null
     * when clipping is off.
     */
    void adamw(Tensor value, Tensor master, Tensor grad, Tensor m, Tensor v, Tensor gradSumOfSquares, AdamWStep step);

    /** The cross-entropy head on this device. */
    LinearCrossEntropy crossEntropy(CceImpl impl);
}
