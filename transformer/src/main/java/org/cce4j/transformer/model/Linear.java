package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

/**
 * A linear projection y = x·Wᵀ (+ b) over registry parameters, known by its Hugging Face module
 * path ({@code model.layers.3.self_attn.q_proj}), which is how adapters find it. The weight and
 * bias may be frozen (their gradients are then skipped).
 */
public final class Linear {
    private final String path;
    final Parameter weight;
    final Parameter bias;

    Linear(ParameterStore store, HfModules.Linear module) {
        this.path = module.path();
        this.weight = store.get(module.weight());
        this.bias = module.hasBias() ? store.get(module.bias()) : null;
    }

    /** The module path, as transformers and PEFT name it. */
    public String path() {
        return path;
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null when the projection has none. */
    public Parameter bias() {
        return bias;
    }

    public int outFeatures() {
        return (int) weight.value().dim(0);
    }

    public int inFeatures() {
        return (int) weight.value().dim(1);
    }

    void forward(Backend be, Tensor x, Tensor y) {
        be.linear(x, weight.value(), bias == null ? null : bias.value(), y);
    }

    /** dx (=, or += with accumulate) and the parameter gradients. */
    void backward(Backend be, Tensor dy, Tensor x, Tensor dx, boolean accumulate) {
        be.linearBackward(dy, x, weight.value(), dx, accumulate, weight.gradOrNull(), bias == null ? null : bias.gradOrNull());
    }
}
