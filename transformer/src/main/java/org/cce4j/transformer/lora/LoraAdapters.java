package org.cce4j.transformer.lora;

import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.DropoutMask;
import org.cce4j.transformer.model.Linear;
import org.cce4j.transformer.model.LoraBranch;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Puts LoRA adapters on a model the way PEFT does, and takes them off again for saving: every
 * projection that the config's target_modules match gets A [r, in] and B [out, r] (registered as
 * {@code <module>.lora_A.weight} / {@code .lora_B.weight}, trainable), every other parameter is
 * frozen. Fresh adapters start as PEFT's do: A ~ kaiming_uniform(a = √5) = U(±1/√in), B = 0, so the
 * model's output is unchanged at step 0; or from a PEFT adapter folder.
 */
public final class LoraAdapters {
    private LoraAdapters() {}

    /** The parameter name of a module's A or B matrix in the model's store. */
    public static String parameterName(String module, boolean a) {
        return module + (a ? ".lora_A.weight" : ".lora_B.weight");
    }

    /**
     * Attaches adapters to every targeted projection and freezes the rest.
     *
     * @param init an adapter to start from (its modules must be exactly those the config targets), or null
     * @param seed seeds the initial A matrices
     * @return the adapted projections by module path
     */
    public static Map<String, LoraBranch> attach(TransformerModel model, LoraConfig config, LoraAdapter init, long seed) {
        Backend be = model.backend();
        ParameterStore store = model.parameters();
        Map<String, LoraBranch> attached = new LinkedHashMap<>();
        for (Linear l : model.linears().values()) {
            if (!config.targets(l.path())) continue;
            int r = config.rank(l.path());
            Tensor a, b;
            if (init != null) {
                if (!init.modules().contains(l.path())) {
                    throw new InvalidInputException(init.folder() + ": the adapter has no matrices for " + l.path()
                            + ", which target_modules " + config.targetModules() + " selects");
                }
                LoraAdapter.Pair p = init.pair(l.path());
                check(init, l, p, r);
                a = be.upload(p.a(), be.computeDType());
                b = be.upload(p.b(), be.computeDType());
            } else {
                try (Tensor ha = kaimingUniform(r, l.inFeatures(), DropoutMask.derive(seed, l.path().hashCode()));
                     Tensor hb = Tensor.zeros(DType.F32, l.outFeatures(), r)) {
                    a = be.upload(ha, be.computeDType());
                    b = be.upload(hb, be.computeDType());
                }
            }
            Parameter pa = store.add(parameterName(l.path(), true), a, be, true);
            Parameter pb = store.add(parameterName(l.path(), false), b, be, true);
            LoraBranch branch = new LoraBranch(pa, pb, config.scaling(l.path()), config.loraDropout());
            l.setLora(branch);
            attached.put(l.path(), branch);
        }
        if (attached.isEmpty()) {
            throw new InvalidInputException("lora.target_modules " + config.targetModules() + " match no projection of this model"
                    + " (its projections are named q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
        }
        if (init != null) {
            for (String m : init.modules()) {
                if (!attached.containsKey(m)) throw new InvalidInputException(init.folder() + ": the adapter has matrices for " + m
                        + ", which is not a projection the config targets");
            }
        }
        for (Parameter p : store.all()) {
            boolean lora = p.name().endsWith(".lora_A.weight") || p.name().endsWith(".lora_B.weight");
            p.setTrainable(lora);
        }
        return attached;
    }

    private static void check(LoraAdapter init, Linear l, LoraAdapter.Pair p, int r) {
        long[] a = p.a().shape(), b = p.b().shape();
        if (a[0] != r || a[1] != l.inFeatures() || b[0] != l.outFeatures() || b[1] != r) {
            throw new InvalidInputException(init.folder() + ": " + l.path() + " has A " + java.util.Arrays.toString(a) + " and B "
                    + java.util.Arrays.toString(b) + "; this model needs A [" + r + ", " + l.inFeatures() + "] and B ["
                    + l.outFeatures() + ", " + r + "]");
        }
    }

    /** A [rows, in] drawn from U(−1/√in, 1/√in): torch's kaiming_uniform_ with a = √5 on a [rows, in] weight. */
    static Tensor kaimingUniform(int rows, int in, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double bound = 1.0 / Math.sqrt(in);
        float[] v = new float[rows * in];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        return Tensor.of(v, rows, in);
    }

    /** The adapters' current matrices as host f32 tensors, for {@link LoraAdapter#save} (the caller closes them). */
    public static Map<String, LoraAdapter.Pair> export(TransformerModel model) {
        Backend be = model.backend();
        Map<String, LoraAdapter.Pair> out = new LinkedHashMap<>();
        for (Linear l : model.linears().values()) {
            LoraBranch br = l.lora();
            if (br == null) continue;
            out.put(l.path(), new LoraAdapter.Pair(be.downloadF32(br.a().value()), be.downloadF32(br.b().value())));
        }
        return out;
    }
}
