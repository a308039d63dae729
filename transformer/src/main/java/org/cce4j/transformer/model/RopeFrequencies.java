package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.RopeParameters;
import org.cce4j.core.InvalidInputException;
import org.cce4j.transformer.backend.RopeTable;

/**
 * The inverse frequencies of a rope type, as transformers' rope init functions compute them (in
 * float32, step for step), turned into the backend's {@link RopeTable} when the model is built:
 * <pre>
 *   invFreq[i] = 1 / base^(2i/d)   then scaled: linear /factor, llama3 by wavelength band, yarn's ramp
 * </pre>
 */
public final class RopeFrequencies {
    private RopeFrequencies() {}

    public static RopeTable of(RopeParameters p, int headDim, int maxPositionEmbeddings) {
        if (p.partialRotaryFactor() != 1.0) {
            throw new InvalidInputException("partial rotary embeddings (partial_rotary_factor " + p.partialRotaryFactor() + ") are not supported");
        }
        int half = headDim / 2;
        float base = (float) p.theta();
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            inv[i] = 1.0f / (float) Math.pow(base, exponent);
        }
        float scale = 1f;
        switch (p.type()) {
            case DEFAULT -> { }
            case LINEAR -> {
                for (int i = 0; i < half; i++) inv[i] = inv[i] / (float) p.factor();
            }
            case LLAMA3 -> llama3(p, inv);
            case YARN -> scale = yarn(p, inv, headDim, base, maxPositionEmbeddings);
            default -> throw new InvalidInputException("rope type '" + p.type().hfName() + "' is not supported (default, linear, llama3, yarn are)");
        }
        return new RopeTable(inv, scale, headDim);
    }

    private static void llama3(RopeParameters p, float[] inv) {
        float factor = (float) p.factor();
        float low = p.lowFreqFactor().floatValue();
        float high = p.highFreqFactor().floatValue();
        float oldContext = p.originalMaxPositionEmbeddings();
        float lowWavelen = oldContext / low;
        float highWavelen = oldContext / high;
        float twoPi = (float) (2 * Math.PI);
        for (int i = 0; i < inv.length; i++) {
            float wavelen = twoPi / inv[i];
            float scaled = wavelen > lowWavelen ? inv[i] / factor : inv[i];
            float smooth = (oldContext / wavelen - low) / (high - low);
            float smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
            boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            inv[i] = medium ? smoothed : scaled;
        }
    }

    private static float yarn(RopeParameters p, float[] inv, int dim, float base, int maxPositionEmbeddings) {
        double factor = p.factor();
        Double attentionFactor = p.attentionFactor();
        if (attentionFactor == null) {
            if (p.mscale() != null && p.mscaleAllDim() != null) {
                attentionFactor = yarnMscale(factor, p.mscale()) / yarnMscale(factor, p.mscaleAllDim());
            } else {
                attentionFactor = yarnMscale(factor, 1);
            }
        }
        double betaFast = p.betaFast() != null ? p.betaFast() : 32;
        double betaSlow = p.betaSlow() != null ? p.betaSlow() : 1;
        int original = p.originalMaxPositionEmbeddings() != null ? p.originalMaxPositionEmbeddings() : maxPositionEmbeddings;
        boolean truncate = p.truncate() == null || p.truncate();
        double lo = correctionDim(betaFast, dim, base, original);
        double hi = correctionDim(betaSlow, dim, base, original);
        if (truncate) {
            lo = Math.floor(lo);
            hi = Math.ceil(hi);
        }
        lo = Math.max(lo, 0);
        hi = Math.min(hi, dim - 1);
        if (lo == hi) hi += 0.001;
        for (int i = 0; i < inv.length; i++) {
            float posFreq = (float) Math.pow(base, (float) (2 * i) / (float) dim);
            float extrapolation = 1.0f / posFreq;
            float interpolation = 1.0f / ((float) factor * posFreq);
            float ramp = Math.min(1f, Math.max(0f, ((float) i - (float) lo) / ((float) hi - (float) lo)));
            float extrapolationFactor = 1f - ramp;
            inv[i] = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return attentionFactor.floatValue();
    }

    private static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    private static double correctionDim(double rotations, int dim, double base, int maxPositions) {
        return (dim * Math.log(maxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
    }
}
