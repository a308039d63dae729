package org.cce4j.checkpoints.peft;

import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.checkpoints.safetensors.TensorInfo;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA adapters in PEFT's folder layout, so that {@code PeftModel.from_pretrained(base, folder)}
 * loads what we train and we load what PEFT trains:
 * <pre>
 *   adapter_config.json
 *   adapter_model.safetensors   base_model.model.{module}.lora_A.weight  [r, in]
 *                               base_model.model.{module}.lora_B.weight  [out, r]
 *   module = the transformers module path, e.g. model.layers.0.self_attn.q_proj
 * </pre>
 * A loaded adapter keeps the file mapped: A and B are zero-copy views until {@link #close()}.
 */
public final class LoraAdapter implements AutoCloseable {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";
    private static final Pattern KEY = Pattern.compile("base_model\\.model\\.(.+)\\.lora_([AB])(?:\\.default)?\\.weight");

    /** One adapted module's matrices: A [r, in], B [out, r]. */
    public record Pair(Tensor a, Tensor b) {
        public Pair {
            if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1)) {
                throw new IllegalArgumentException("LoRA A " + Shapes.toString(a.shape()) + " and B " + Shapes.toString(b.shape())
                        + " do not form B @ A (need A [r, in], B [out, r])");
            }
        }

        public long rank() {
            return a.dim(0);
        }
    }

    private final Path folder;
    private final LoraConfig config;
    private final SafetensorsFile file;
    private final Map<String, Pair> modules;

    private LoraAdapter(Path folder, LoraConfig config, SafetensorsFile file, Map<String, Pair> modules) {
        this.folder = folder;
        this.config = config;
        this.file = file;
        this.modules = Collections.unmodifiableMap(modules);
    }

    /** PEFT's key of a module's A or B matrix. */
    public static String key(String module, boolean a) {
        return PREFIX + module + (a ? ".lora_A.weight" : ".lora_B.weight");
    }

    /**
     * Writes an adapter. {@code modules} maps transformers module paths to their matrices; they are
     * stored as {@code fileType} (PEFT trains and saves in f32 unless told otherwise).
     */
    public static void save(Path folder, LoraConfig config, Map<String, Pair> modules, DType fileType) throws IOException {
        Files.createDirectories(folder);
        List<TensorEntry> entries = new ArrayList<>();
        for (var e : modules.entrySet()) {
            String module = e.getKey();
            Pair p = e.getValue();
            if (p.rank() != config.rank(module)) {
                throw new IllegalArgumentException(module + ": rank " + p.rank() + " but the config says " + config.rank(module));
            }
            if (!config.targets(module)) {
                throw new IllegalArgumentException(module + " is not matched by target_modules " + config.targetModules()
                        + "; PEFT would not find a layer for it");
            }
            entries.add(TensorEntry.of(key(module, true), p.a(), fileType));
            entries.add(TensorEntry.of(key(module, false), p.b(), fileType));
        }
        SafetensorsWriter.write(folder.resolve(WEIGHTS), Map.of("format", "pt"), entries);
        Json.writePythonStyle(folder.resolve(CONFIG), config.toJson());
    }

    public static LoraAdapter open(Path folder) throws IOException {
        Path configFile = folder.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) throw new InvalidInputException(folder + ": no " + CONFIG + " (not a PEFT adapter folder)");
        LoraConfig config = LoraConfig.read(configFile);
        Path weights = folder.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new InvalidInputException(folder + ": no " + WEIGHTS + (Files.exists(folder.resolve("adapter_model.bin"))
                    ? " (only adapter_model.bin, a pickle cce4j does not read)" : ""));
        }
        SafetensorsFile file = SafetensorsFile.open(weights);
        try {
            Map<String, Tensor[]> found = new LinkedHashMap<>();
            for (TensorInfo t : file.tensors()) {
                Matcher m = KEY.matcher(t.name());
                if (!m.matches()) {
                    throw new InvalidInputException(weights + ": tensor '" + t.name()
                            + "' is not a LoRA matrix (expected base_model.model.<module>.lora_A.weight / lora_B.weight)");
                }
                Tensor[] pair = found.computeIfAbsent(m.group(1), k -> new Tensor[2]);
                pair[m.group(2).equals("A") ? 0 : 1] = file.tensor(t.name());
            }
            Map<String, Pair> modules = new LinkedHashMap<>();
            for (var e : found.entrySet()) {
                String module = e.getKey();
                Tensor a = e.getValue()[0];
                Tensor b = e.getValue()[1];
                if (a == null || b == null) {
                    throw new InvalidInputException(weights + ": module " + module + " has lora_" + (a == null ? "B but no lora_A" : "A but no lora_B"));
                }
                if (a.rank() != 2 || b.rank() != 2 || a.dim(0) != b.dim(1) || a.dim(0) != config.rank(module)) {
                    throw new InvalidInputException(weights + ": module " + module + " has lora_A " + Shapes.toString(a.shape())
                            + " and lora_B " + Shapes.toString(b.shape()) + ", expected [r, in] and [out, r] with r = " + config.rank(module));
                }
                modules.put(module, new Pair(a, b));
            }
            return new LoraAdapter(folder, config, file, modules);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public Path folder() {
        return folder;
    }

    public LoraConfig config() {
        return config;
    }

    /** Adapted module paths, e.g. model.layers.0.self_attn.q_proj. */
    public Set<String> modules() {
        return modules.keySet();
    }

    public Pair pair(String module) {
        Pair p = modules.get(module);
        if (p == null) throw new InvalidInputException(folder + ": the adapter has no module " + module);
        return p;
    }

    @Override
    public void close() {
        file.close();
    }
}
