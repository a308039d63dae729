package org.cce4j.core.loss;

import org.cce4j.core.tensor.Tensor;

/**
 * What a forward returns, and what its backward needs. All tensors are f32 on the inputs' device:
 * <pre>
 *   loss       []  for mean and sum, the leading shape of E for none
 *   tokenLoss  leading shape of E: each row's loss (weighted, with smoothing and z-loss); 0 where
 *              the row does not count
 *   lse        leading shape of E: log-sum-exp of each row's logits (NaN where skipped, see
 *              {@link CceOptions#returnLse})
 * </pre>
 * The inputs are referenced, not copied: they must stay unchanged until the backward has run.
 * {@link #lossValue()} may be computed on first use (a GPU loss copies it back only then, so the
 * forward itself never waits for the device); ask for it before closing.
 */
public final class CceForward implements AutoCloseable {
    private final CceInputs inputs;
    private final CceOptions options;
    private final CceProblem problem;
    private final Tensor loss;
    private final Tensor tokenLoss;
    private final Tensor lse;
    private final java.util.function.DoubleSupplier lossSource;
    private volatile boolean lossKnown, closed;
    private volatile float lossValue;
    private final Object saved;

    public CceForward(CceInputs inputs, CceOptions options, CceProblem problem, Tensor loss, Tensor tokenLoss,
                      Tensor lse, float lossValue, Object saved) {
        this(inputs, options, problem, loss, tokenLoss, lse, () -> lossValue, saved);
        this.lossValue = lossValue;
        this.lossKnown = true;
    }

    /** With the reduced loss computed on first use by {@code lossSource} (while this forward is open). */
    public CceForward(CceInputs inputs, CceOptions options, CceProblem problem, Tensor loss, Tensor tokenLoss,
                      Tensor lse, java.util.function.DoubleSupplier lossSource, Object saved) {
        this.inputs = inputs;
        this.options = options;
        this.problem = problem;
        this.loss = loss;
        this.tokenLoss = tokenLoss;
        this.lse = lse;
        this.lossSource = lossSource;
        this.saved = saved;
    }

    public CceInputs inputs() { return inputs; }
    public CceOptions options() { return options; }
    public CceProblem problem() { return problem; }
    public Tensor loss() { return loss; }
    public Tensor tokenLoss() { return tokenLoss; }
    public Tensor lse() { return lse; }

    /** The reduced loss (for none: the sum of the token losses). */
    public float lossValue() {
        if (!lossKnown) {
            synchronized (this) {
                if (!lossKnown) {
                    if (closed) throw new IllegalStateException("lossValue() was first asked for after close(): its memory is gone");
                    lossValue = (float) lossSource.getAsDouble();
                    lossKnown = true;
                }
            }
        }
        return lossValue;
    }

    /** Implementation-specific state for the backward (for example the vocabulary order). */
    public Object saved() { return saved; }

    @Override
    public synchronized void close() {
        closed = true;
        if (loss != tokenLoss) loss.close();
        tokenLoss.close();
        lse.close();
        if (saved instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("releasing the forward's saved state", e);
            }
        }
    }
}
