package org.cce4j.checkpoints.hf;

import java.util.Arrays;
import java.util.Locale;

/**
 * The rotary position embedding of one layer type, in transformers 5's {@code rope_parameters}
 * vocabulary (4.x's {@code rope_theta} + {@code rope_scaling} are read into the same record).
 * Fields that a type does not use are left at their neutral value: factor 1, null for the optional
 * ones (whose defaults transformers computes: yarn's attention_factor from factor and mscale,
 * beta_fast 32, beta_slow 1, truncate true).
 *
 * @param type                           default, linear, dynamic, yarn, longrope or llama3
 * @param theta                          the base of the frequencies
 * @param factor                         the context extension factor (1 when unused)
 * @param originalMaxPositionEmbeddings  the pre-extension context (llama3, longrope, yarn); null when absent
 * @param partialRotaryFactor            fraction of head_dim that rotates (1 for every family we support)
 */
public record RopeParameters(
        Type type,
        double theta,
        double factor,
        Integer originalMaxPositionEmbeddings,
        Double lowFreqFactor,
        Double highFreqFactor,
        Double attentionFactor,
        Double betaFast,
        Double betaSlow,
        Double mscale,
        Double mscaleAllDim,
        Boolean truncate,
        double[] shortFactor,
        double[] longFactor,
        double partialRotaryFactor) {

    public enum Type {
        DEFAULT, LINEAR, DYNAMIC, YARN, LONGROPE, LLAMA3;

        public String hfName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Type ofHfName(String name) {
            for (Type t : values()) {
                if (t.hfName().equals(name)) return t;
            }
            return null;
        }
    }

    /** Plain RoPE with base {@code theta}. */
    public static RopeParameters plain(double theta) {
        return new RopeParameters(Type.DEFAULT, theta, 1.0, null, null, null, null, null, null, null, null, null, null, null, 1.0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RopeParameters r && type == r.type && theta == r.theta && factor == r.factor
                && java.util.Objects.equals(originalMaxPositionEmbeddings, r.originalMaxPositionEmbeddings)
                && java.util.Objects.equals(lowFreqFactor, r.lowFreqFactor) && java.util.Objects.equals(highFreqFactor, r.highFreqFactor)
                && java.util.Objects.equals(attentionFactor, r.attentionFactor) && java.util.Objects.equals(betaFast, r.betaFast)
                && java.util.Objects.equals(betaSlow, r.betaSlow) && java.util.Objects.equals(mscale, r.mscale)
                && java.util.Objects.equals(mscaleAllDim, r.mscaleAllDim) && java.util.Objects.equals(truncate, r.truncate)
                && Arrays.equals(shortFactor, r.shortFactor) && Arrays.equals(longFactor, r.longFactor)
                && partialRotaryFactor == r.partialRotaryFactor;
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Double.hashCode(theta);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(type.hfName()).append("(theta=").append(theta);
        if (type != Type.DEFAULT) sb.append(", factor=").append(factor);
        if (originalMaxPositionEmbeddings != null) sb.append(", original_max_position_embeddings=").append(originalMaxPositionEmbeddings);
        if (lowFreqFactor != null) sb.append(", low_freq_factor=").append(lowFreqFactor);
        if (highFreqFactor != null) sb.append(", high_freq_factor=").append(highFreqFactor);
        if (attentionFactor != null) sb.append(", attention_factor=").append(attentionFactor);
        if (betaFast != null) sb.append(", beta_fast=").append(betaFast);
        if (betaSlow != null) sb.append(", beta_slow=").append(betaSlow);
        if (partialRotaryFactor != 1.0) sb.append(", partial_rotary_factor=").append(partialRotaryFactor);
        return sb.append(')').toString();
    }
}
