package org.cce4j.core.loss;

import java.util.Locale;

/**
 * How per-token losses become the returned loss. MEAN divides by the summed weight of the tokens
 * that count (not ignored), like PyTorch's cross_entropy with class weights; a batch in which no
 * token counts has a mean loss of 0 and zero gradients (PyTorch would give NaN).
 */
public enum Reduction {
    MEAN, SUM, NONE;

    public static Reduction parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "mean" -> MEAN;
            case "sum" -> SUM;
            case "none" -> NONE;
            default -> throw new IllegalArgumentException("unknown reduction '" + text + "' (expected mean, sum or none)");
        };
    }
}
