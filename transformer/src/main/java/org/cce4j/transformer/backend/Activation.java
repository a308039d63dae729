package org.cce4j.transformer.backend;

/**
 * The MLP's activation as the backends compute it (ActivationMath, the CUDA kernels). The model
 * maps the checkpoint's {@code hidden_act} to one of these once, when it is built, so that the
 * compute layer knows nothing of config files.
 */
/* The order is the activation code the CUDA kernels switch on (elementwise.cu): append, never reorder. */
public enum Activation {
    /** x · sigmoid(x) (SwiGLU's gate). */
    SILU,
    /** 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) (GeGLU's gate in Gemma). */
    GELU_TANH,
    /** 0.5 x (1 + erf(x / √2)). */
    GELU,
    RELU
}
