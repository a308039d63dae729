package org.cce4j.core.loss;

import java.util.Locale;

/**
 * The implementations of one loss contract, as in apple/ml-cross-entropy's {@code impl} switch:
 * <ul>
 *   <li>{@code cce}: blocked, never stores N×V; the backward skips blocks whose gradient is below
 *       {@code filterEps} and walks the vocabulary sorted by average logit;</li>
 *   <li>{@code cce-exact}: the same kernels with no filtering and no sorting;</li>
 *   <li>{@code baseline}: materializes the N×V logits and their gradient (memory grows with N×V,
 *       by design), the yardstick for memory, time and convergence.</li>
 * </ul>
 */
public enum CceImpl {
    CCE("cce"), CCE_EXACT("cce-exact"), BASELINE("baseline");

    private final String cliName;

    CceImpl(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    public static CceImpl parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (CceImpl impl : values()) {
            if (impl.cliName.equals(t)) return impl;
        }
        throw new IllegalArgumentException("unknown implementation '" + text + "' (expected cce, cce-exact or baseline)");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
