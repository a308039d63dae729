package org.cce4j.transformer.backend;

/**
 * The rotary position embedding of one layer type, given its inverse frequencies (which the model
 * computes from the checkpoint's rope parameters: {@code RopeFrequencies}); angles in float32, as
 * transformers computes them, so that they agree to the last bit where the arithmetic allows:
 * <pre>
 *   angle      = position · invFreq[i]            (f32)
 *   x'[i]      = x[i]·cos − x[i+d/2]·sin          x'[i+d/2] = x[i+d/2]·cos + x[i]·sin
 *   cos, sin   = cos(angle)·attentionScale, sin(angle)·attentionScale     (HF's rotate_half layout)
 * </pre>
 */
public final class RopeTable {
    private final float[] invFreq;
    private final float attentionScale;
    private final int headDim;

    /**
     * @param invFreq        the headDim/2 inverse frequencies, already scaled by the rope type
     * @param attentionScale what cos and sin are multiplied by (1 but for yarn)
     */
    public RopeTable(float[] invFreq, float attentionScale, int headDim) {
        if (invFreq.length != headDim / 2) {
            throw new IllegalArgumentException(invFreq.length + " inverse frequencies for head_dim " + headDim + " (expected " + headDim / 2 + ")");
        }
        this.invFreq = invFreq.clone();
        this.attentionScale = attentionScale;
        this.headDim = headDim;
    }

    public int headDim() {
        return headDim;
    }

    /** cos and sin of position {@code pos} for frequency i, scaled by the attention factor, into out[0], out[1]. */
    public void cosSin(int pos, int i, float[] out) {
        float angle = (float) pos * invFreq[i];
        out[0] = (float) Math.cos(angle) * attentionScale;
        out[1] = (float) Math.sin(angle) * attentionScale;
    }

    /** cos/sin rows of a position: cos[i], sin[i] for i < headDim/2. */
    public void row(int pos, float[] cos, float[] sin) {
        for (int i = 0; i < invFreq.length; i++) {
            float angle = (float) pos * invFreq[i];
            cos[i] = (float) Math.cos(angle) * attentionScale;
            sin[i] = (float) Math.sin(angle) * attentionScale;
        }
    }
}
