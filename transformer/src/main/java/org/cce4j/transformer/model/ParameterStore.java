package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.CheckpointWeights;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every parameter of a model, keyed by its Hugging Face name, in state_dict order. Loading goes
 * through the checkpoint's names and shapes (HfModules), converting each tensor into the
 * backend's compute dtype; tied embeddings are one parameter that both the embedding and the head
 * use (so it receives the sum of both gradients). Adapters add their own parameters here later.
 */
public final class ParameterStore implements AutoCloseable {
    private final Map<String, Parameter> byName = new LinkedHashMap<>();

    public static ParameterStore load(ModelConfig config, CheckpointWeights weights, Backend backend) {
        ParameterStore store = new ParameterStore();
        for (Map.Entry<String, long[]> e : HfModules.of(config).parameterShapes().entrySet()) {
            String name = e.getKey();
            if (!weights.contains(name)) {
                store.close();
                throw new InvalidInputException(weights.folder() + ": the checkpoint has no tensor '" + name + "'");
            }
            Tensor host = weights.tensor(name, e.getValue());
            store.add(name, backend.upload(host, backend.computeDType()), backend, true);
        }
        return store;
    }

    /**
     * Fresh weights for pretraining from scratch, as transformers' {@code _init_weights} draws them:
     * linear weights and the embedding ~ N(0, std²) (std = config.json's initializer_range), biases 0,
     * the embedding's padding row 0, RMSNorm gains 1 (0 for Gemma's (1 + w) norms). Each tensor has its
     * own generator seeded from {@code seed} and its name, so the weights do not depend on the order of
     * loading or the device.
     */
    public static ParameterStore random(ModelConfig config, Backend backend, long seed, double std) {
        ParameterStore store = new ParameterStore();
        boolean unitOffset = config.family().unitOffsetRmsNorm();
        for (Map.Entry<String, long[]> e : HfModules.of(config).parameterShapes().entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            try (Tensor host = Tensor.zeros(DType.F32, shape)) {
                if (shape.length == 2) {
                    java.util.SplittableRandom rng = new java.util.SplittableRandom(
                            org.cce4j.transformer.backend.DropoutMask.derive(seed, name.hashCode()));
                    for (long i = 0; i < host.numel(); i++) host.setFloat(i, (float) (rng.nextGaussian() * std));
                    Integer pad = config.padTokenId();
                    if (name.equals("model.embed_tokens.weight") && pad != null && pad >= 0 && pad < shape[0]) {
                        for (long j = 0; j < shape[1]; j++) host.setFloat(pad * shape[1] + j, 0f);
                    }
                } else if (name.endsWith("norm.weight") && !unitOffset) {
                    for (long i = 0; i < host.numel(); i++) host.setFloat(i, 1f);
                }
                store.add(name, backend.upload(host, backend.computeDType()), backend, true);
            }
        }
        return store;
    }

    public Parameter add(String name, Tensor value, Backend backend, boolean trainable) {
        Parameter p = new Parameter(name, value, backend, trainable);
        if (byName.putIfAbsent(name, p) != null) throw new IllegalArgumentException("duplicate parameter " + name);
        return p;
    }

    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null) throw new IllegalArgumentException("no parameter " + name);
        return p;
    }

    /** The parameter, or null when the model has none of that name (an optional bias). */
    public Parameter find(String name) {
        return byName.get(name);
    }

    public Collection<Parameter> all() {
        return byName.values();
    }

    public List<Parameter> trainable() {
        return byName.values().stream().filter(Parameter::trainable).toList();
    }

    public void zeroGrads() {
        byName.values().forEach(Parameter::zeroGrad);
    }

    @Override
    public void close() {
        byName.values().forEach(Parameter::close);
        byName.clear();
    }
}
