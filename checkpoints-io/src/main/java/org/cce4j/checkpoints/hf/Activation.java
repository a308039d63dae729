package org.cce4j.checkpoints.hf;

import java.util.Locale;

/** The MLP's activation, from transformers' ACT2FN names. */
public enum Activation {
    /** x * sigmoid(x) ("silu", "swish"). */
    SILU,
    /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("gelu_pytorch_tanh", "gelu_new", "gelu_fast"). */
    GELU_TANH,
    /** 0.5 x (1 + erf(x / sqrt 2)) ("gelu"). */
    GELU,
    RELU;

    /** The activation of a transformers name, or null if we have none. */
    public static Activation ofHfName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "silu", "swish" -> SILU;
            case "gelu_pytorch_tanh", "gelu_new", "gelu_fast" -> GELU_TANH;
            case "gelu" -> GELU;
            case "relu" -> RELU;
            default -> null;
        };
    }
}
