package org.cce4j.trainer.checkpoint;

import org.cce4j.checkpoints.state.TrainingState;
import org.cce4j.checkpoints.state.TrainingStateFile;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.trainer.optim.AdamW;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What resuming needs besides the model files, as one safetensors file (TrainingStateFile): the
 * optimizer's moments (exp_avg.NAME, exp_avg_sq.NAME), f32 master weights (master.NAME) for every
 * trainable parameter whose model file is narrower than f32 — the GPU's master copies, or the CPU's
 * f32 weights of a bf16 checkpoint — so that a resumed run continues from exactly the numbers the
 * stopped one held; the step, the data position and the properties the loop checks on resume.
 */
public final class CheckpointState {
    private CheckpointState() {}

    /**
     * Writes the state of step {@code step}.
     *
     * @param modelFileType the dtype the model files hold: parameters narrower than f32 there get a master entry
     */
    public static void write(Path file, long step, TrainingState.DataPosition position, long seed, Map<String, String> properties,
                             AdamW optimizer, Backend be, DType modelFileType) throws IOException {
        Map<String, Tensor> named = hostState(optimizer, be, modelFileType);
        try {
            write(file, step, position, seed, properties, named);
        } finally {
            named.values().forEach(Tensor::close);
        }
    }

    /** Writes the state of step {@code step} from its tensors, already on the host by checkpoint name (the caller closes them). */
    public static void write(Path file, long step, TrainingState.DataPosition position, long seed, Map<String, String> properties,
                             Map<String, Tensor> hostTensors) throws IOException {
        TrainingStateFile.write(file, new TrainingState(step, position, new long[] {seed}, properties, hostTensors));
    }

    /**
     * The optimizer's tensors as the state file holds them, downloaded (the caller closes them):
     * exp_avg.NAME, exp_avg_sq.NAME, master.NAME per parameter, then the master entries of f32
     * parameters when the model files are narrower.
     */
    public static Map<String, Tensor> hostState(AdamW optimizer, Backend be, DType modelFileType) {
        Map<String, Tensor> named = new LinkedHashMap<>();
        try {
            for (var e : optimizer.namedTensors().entrySet()) named.put(e.getKey(), be.download(e.getValue()));
            if (modelFileType != DType.F32) {
                for (var e : optimizer.states().entrySet()) {
                    if (e.getValue().master() != null) continue;      // already there
                    Parameter p = findParameter(optimizer, e.getKey());
                    named.put("master." + e.getKey(), be.downloadF32(p.value()));
                }
            }
            return named;
        } catch (RuntimeException | Error e) {
            named.values().forEach(Tensor::close);
            throw e;
        }
    }

    private static Parameter findParameter(AdamW optimizer, String name) {
        return optimizer.parameter(name);
    }

    /** Reads a state and loads its tensors into the optimizer (and master weights into the parameters); returns the state. */
    public static TrainingState restore(Path file, AdamW optimizer, Backend be) throws IOException {
        try (TrainingStateFile f = TrainingStateFile.open(file)) {
            TrainingState s = f.state();
            Map<String, Tensor> t = s.tensors();
            for (var e : optimizer.states().entrySet()) {
                String name = e.getKey();
                AdamW.State st = e.getValue();
                copyInto(t, "exp_avg." + name, st.m(), be, file);
                copyInto(t, "exp_avg_sq." + name, st.v(), be, file);
                Tensor master = t.get("master." + name);
                if (st.master() != null) {
                    if (master == null) throw new InvalidInputException(file + ": no master weights for " + name + " (the run was saved by another setup)");
                    copyInto(t, "master." + name, st.master(), be, file);
                    be.copy(st.master(), optimizer.parameter(name).value());
                } else if (master != null) {
                    copyInto(t, "master." + name, optimizer.parameter(name).value(), be, file);
                }
            }
            optimizer.restoreSteps(s.step());
            return new TrainingState(s.step(), s.data(), s.rngState(), s.properties(), Map.of());
        }
    }

    private static void copyInto(Map<String, Tensor> t, String key, Tensor dst, Backend be, Path file) {
        Tensor src = t.get(key);
        if (src == null) throw new InvalidInputException(file + ": the training state has no " + key);
        if (!java.util.Arrays.equals(src.shape(), dst.shape())) {
            throw new InvalidInputException(file + ": " + key + " has shape " + java.util.Arrays.toString(src.shape())
                    + ", the model's is " + java.util.Arrays.toString(dst.shape()));
        }
        try (Tensor dev = be.upload(src, dst.dtype())) {
            be.copy(dev, dst);
        }
    }
}
