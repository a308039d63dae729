package org.cce4j.transformer.backend;

/**
 * The scalars of one AdamW update, as {@code torch.optim.AdamW} applies them to each parameter:
 * <pre>
 *   g  = grad · clip                      clip = min(1, maxGradNorm / (√Σg² + 1e-6)) when maxGradNorm > 0, else 1
 *   p ← p · (1 − lr·weightDecay)          decoupled decay first
 *   m ← m + (g − m)·(1 − β1)              (torch's lerp)
 *   v ← v·β2 + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^step)) · m / (√v / √(1 − β2^step) + eps)
 * </pre>
 * Σg² is the squared global norm over every trainable parameter (a device scalar summed by
 * {@link Backend#sumOfSquares} before any update), so clipping needs no host round trip.
 *
 * @param step        the 1-based optimizer step (bias corrections)
 * @param weightDecay this parameter's decay (0 for norms and biases)
 */
public record AdamWStep(double lr, double beta1, double beta2, double eps, double weightDecay, long step, double maxGradNorm) {
    public AdamWStep {
        if (step < 1) throw new IllegalArgumentException("AdamW step must be >= 1, got " + step);
    }

    public AdamWStep withWeightDecay(double wd) {
        return new AdamWStep(lr, beta1, beta2, eps, wd, step, maxGradNorm);
    }

    /** The clipping factor for a squared global norm (1 when clipping is off or not needed). */
    public float clipFactor(double sumOfSquares) {
        if (!(maxGradNorm > 0)) return 1f;
        float norm = (float) Math.sqrt(sumOfSquares);
        float coef = (float) maxGradNorm / (norm + 1e-6f);
        return Math.min(coef, 1f);
    }
}
