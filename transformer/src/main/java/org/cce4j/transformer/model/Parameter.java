package org.cce4j.transformer.model;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

/**
 * One named parameter (its Hugging Face name), its value on the backend's device and, when it is
 * trainable, its gradient (f32, allocated on first use). Frozen parameters (the base model under
 * LoRA) have no gradient, and the backward skips the work of computing one.
 */
public final class Parameter implements AutoCloseable {
    private final String name;
    private final Tensor value;
    private final Backend backend;
    private boolean trainable;
    private Tensor grad;

    Parameter(String name, Tensor value, Backend backend, boolean trainable) {
        this.name = name;
        this.value = value;
        this.backend = backend;
        this.trainable = trainable;
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    /** Whether weight decay applies: matrices and embeddings (and LoRA's A and B), never norms or biases. */
    public boolean decays() {
        return value.rank() >= 2;
    }

    public boolean trainable() {
        return trainable;
    }

    public void setTrainable(boolean trainable) {
        this.trainable = trainable;
        if (!trainable && grad != null) {
            grad.close();
            grad = null;
        }
    }

    /** The gradient accumulator (zeros when first asked), or null when the parameter is frozen. */
    public Tensor gradOrNull() {
        if (!trainable) return null;
        if (grad == null) grad = backend.zeros(DType.F32, value.shape());
        return grad;
    }

    /** The gradient if one has been accumulated, else null. */
    public Tensor existingGrad() {
        return grad;
    }

    public void zeroGrad() {
        if (grad != null) {
            grad.close();
            grad = null;
        }
    }

    @Override
    public void close() {
        value.close();
        zeroGrad();
    }
}
