package org.cce4j.core.bench;

import org.cce4j.core.InvalidInputException;

import java.util.Locale;

/**
 * The distributions the loss benchmark draws its inputs from (bench-loss --inputs). What the filtered
 * backward can skip depends on them, so a time is only meaningful with the inputs' statistics beside it
 * ({@link InputStatistics}):
 * <ul>
 *   <li>{@code paper}: the CCE paper's benchmark: C, E ~ N(0,1)/D^0.25 with C[:N] = E, uniform targets; each row's
 *       softmax is nearly one-hot on its own entry, and the target is almost never that entry;</li>
 *   <li>{@code uniform}: E and C independent and so small that the logits are about 0.01: the softmax of a model at
 *       random initialization, entropy ≈ log V, every probability ≈ 1/V;</li>
 *   <li>{@code trained}: a trained language model's head ({@link TrainedInputs}): entropy 1.5-3 nats, top-1
 *       probability 0.3-0.6, targets drawn from the softmax, mass on frequent (low-id, Zipf) tokens.</li>
 * </ul>
 */
public enum InputKind {
    PAPER, UNIFORM, TRAINED;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** One of the names, case-insensitive; anything else is a user error naming the value. */
    public static InputKind parse(String s) {
        for (InputKind k : values()) if (k.cliName().equalsIgnoreCase(s)) return k;
        throw new InvalidInputException("--inputs must be paper, uniform, trained or a .safetensors file, got " + s);
    }

    /** Whether {@code s} names a kind (otherwise the command line takes it for a file). */
    public static boolean isKind(String s) {
        for (InputKind k : values()) if (k.cliName().equalsIgnoreCase(s)) return true;
        return false;
    }
}
