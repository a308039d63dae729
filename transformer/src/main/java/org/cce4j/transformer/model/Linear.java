package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

/**
 * A linear projection y = x·Wᵀ (+ b) over registry parameters, known by its Hugging Face module
 * path ({@code model.layers.3.self_attn.q_proj}), which is how adapters find it. The weight and
 * bias may be frozen (their gradients are then skipped); a {@link LoraBranch} attached here adds its
 * low-rank update to the output and keeps one [M, r] activation per pass.
 */
public final class Linear {
    private final String path;
    final Parameter weight;
    final Parameter bias;
    private LoraBranch lora;

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

    /** The adapter on this projection, or null. */
    public LoraBranch lora() {
        return lora;
    }

    /** Attaches (or with null, detaches) an adapter. */
    public void setLora(LoraBranch branch) {
        if (branch != null && (branch.a().value().dim(1) != inFeatures() || branch.b().value().dim(0) != outFeatures())) {
            throw new IllegalArgumentException(path + ": LoRA A " + branch.a().value() + " / B " + branch.b().value()
                    + " do not fit a projection [" + outFeatures() + ", " + inFeatures() + "]");
        }
        this.lora = branch;
    }

    /**
     * y = x·Wᵀ (+ b) (+ the adapter's update); returns what the adapter keeps for the backward
     * (allocated in {@code mem}), or null without one. {@code seed} draws the adapter's dropout mask.
     */
    Tensor forward(Backend be, Scratch mem, Tensor x, Tensor y, long seed) {
        return forward(be, mem, x, y, seed, true);
    }

    /** The same; without {@code dropout} (inference) the adapter's input is not dropped out. */
    Tensor forward(Backend be, Scratch mem, Tensor x, Tensor y, long seed, boolean dropout) {
        be.linear(x, weight.value(), bias == null ? null : bias.value(), y);
        return lora == null ? null : lora.forward(be, mem, x, y, seed, dropout);
    }

    /** dx (=, or += with accumulate) and the parameter gradients; {@code saved} is what forward returned. */
    void backward(Backend be, Tensor dy, Tensor x, Tensor saved, Tensor dx, boolean accumulate, long seed) {
        be.linearBackward(dy, x, weight.value(), dx, accumulate, weight.gradOrNull(), bias == null ? null : bias.gradOrNull());
        if (lora != null) lora.backward(be, dy, x, saved, dx, seed);
    }
}
