package org.cce4j.core.loss;

import org.cce4j.core.tensor.Tensor;

import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * What a forward returns, and what its backward needs. Tensors are on the inputs' device:
 * <pre>
 *   loss       f32 []  for mean and sum, the leading shape of E for none
 *   tokenLoss  f32, leading shape of E: each row's loss (weighted, with smoothing and z-loss); 0 where
 *              the row does not count
 *   lse        f32, leading shape of E: log-sum-exp of each row's logits (NaN where skipped, see
 *              {@link CceOptions#returnLse})
 *   correct    int32, leading shape of E, only with {@link CceOptions#accuracy}: 1 where the row counts
 *              and the first index of its largest logit is its target, else 0
 * </pre>
 * The inputs are referenced, not copied: they must stay unchanged until the backward has run.
 * {@link #lossValue()} and {@link #correctCount()} may be computed on first use (a GPU loss copies
 * them back only then, so the forward itself never waits for the device); ask for them before closing.
 */
public final class CceForward implements AutoCloseable {
    private final CceInputs inputs;
    private final CceOptions options;
    private final CceProblem problem;
    private final Tensor loss;
    private final Tensor tokenLoss;
    private final Tensor lse;
    private final Tensor correct;
    private final DoubleSupplier lossSource;
    private final LongSupplier correctSource;
    private volatile boolean lossKnown, countKnown, closed;
    private volatile float lossValue;
    private volatile long correctCount;
    private final Object saved;

    public CceForward(CceInputs inputs, CceOptions options, CceProblem problem, Tensor loss, Tensor tokenLoss,
                      Tensor lse, float lossValue, Object saved) {
        this(inputs, options, problem, loss, tokenLoss, lse, lossValue, null, 0, saved);
    }

    /** With the reduced loss and the accuracy outputs known ({@code correct} null without {@link CceOptions#accuracy}). */
    public CceForward(CceInputs inputs, CceOptions options, CceProblem problem, Tensor loss, Tensor tokenLoss,
                      Tensor lse, float lossValue, Tensor correct, long correctCount, Object saved) {
        this(inputs, options, problem, loss, tokenLoss, lse, () -> lossValue, correct, () -> correctCount, saved);
        this.lossValue = lossValue;
        this.lossKnown = true;
        this.correctCount = correctCount;
        this.countKnown = true;
    }

    /** With the reduced loss computed on first use by {@code lossSource} (while this forward is open). */
    public CceForward(CceInputs inputs, CceOptions options, CceProblem problem, Tensor loss, Tensor tokenLoss,
                      Tensor lse, DoubleSupplier lossSource, Object saved) {
        this(inputs, options, problem, loss, tokenLoss, lse, lossSource, null, null, saved);
    }

    /**
     * With the accuracy outputs: {@code correct} (int32, the leading shape of E; null without
     * {@link CceOptions#accuracy}) and the number of its ones, computed on first use by {@code correctSource}.
     */
    public CceForward(CceInputs inputs, CceOptions options, CceProblem problem, Tensor loss, Tensor tokenLoss,
                      Tensor lse, DoubleSupplier lossSource, Tensor correct, LongSupplier correctSource, Object saved) {
        this.inputs = inputs;
        this.options = options;
        this.problem = problem;
        this.loss = loss;
        this.tokenLoss = tokenLoss;
        this.lse = lse;
        this.lossSource = lossSource;
        this.correct = correct;
        this.correctSource = correctSource;
        this.saved = saved;
    }

    public CceInputs inputs() { return inputs; }
    public CceOptions options() { return options; }
    public CceProblem problem() { return problem; }
    public Tensor loss() { return loss; }
    public Tensor tokenLoss() { return tokenLoss; }
    public Tensor lse() { return lse; }

    /** Per row, 1 where it counts and its argmax is its target, else 0 (int32); only with {@link CceOptions#accuracy}. */
    public Tensor correct() {
        requireAccuracy();
        return correct;
    }

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

    /** How many rows that count have their target as argmax; only with {@link CceOptions#accuracy}. */
    public long correctCount() {
        requireAccuracy();
        if (!countKnown) {
            synchronized (this) {
                if (!countKnown) {
                    if (closed) throw new IllegalStateException("correctCount() was first asked for after close(): its memory is gone");
                    correctCount = correctSource.getAsLong();
                    countKnown = true;
                }
            }
        }
        return correctCount;
    }

    /**
     * The token accuracy: {@link #correctCount()} over the number of rows that count (token weights
     * do not enter it), NaN when no row counts; only with {@link CceOptions#accuracy}.
     */
    public double accuracy() {
        long counted = problem.countingRows.length;
        long right = correctCount();
        return counted == 0 ? Double.NaN : (double) right / counted;
    }

    private void requireAccuracy() {
        if (correct == null) throw new IllegalStateException("accuracy was not asked for: forward with CceOptions.withAccuracy(true)");
    }

    /** Implementation-specific state for the backward (for example the vocabulary order). */
    public Object saved() { return saved; }

    @Override
    public synchronized void close() {
        closed = true;
        if (loss != tokenLoss) loss.close();
        tokenLoss.close();
        lse.close();
        if (correct != null) correct.close();
        if (saved instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("releasing the forward's saved state", e);
            }
        }
    }
}
