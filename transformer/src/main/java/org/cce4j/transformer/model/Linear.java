package org.cce4j.transformer.model;

import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

/**
 * A linear projection y = x·Wᵀ (+ b) over registry parameters. The weight and bias may be frozen
 * (their gradients are then skipped); this is where a LoRA adapter attaches.
 */
final class Linear {
    final Parameter weight;
    final Parameter bias;

    Linear(ParameterStore store, String module) {
        this.weight = store.get(module + ".weight");
        this.bias = store.find(module + ".bias");
    }

    int outFeatures() {
        return (int) weight.value().dim(0);
    }

    void forward(Backend be, Tensor x, Tensor y) {
        be.linear(x, weight.value(), bias == null ? null : bias.value(), y);
    }

    /** dx (=, or += with accumulate) and the parameter gradients. */
    void backward(Backend be, Tensor dy, Tensor x, Tensor dx, boolean accumulate) {
        be.linearBackward(dy, x, weight.value(), dx, accumulate, weight.gradOrNull(), bias == null ? null : bias.gradOrNull());
    }
}
