package org.cce4j.checkpoints.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.TensorInfo;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The weights of a checkpoint folder as one name → tensor map, whether they are one
 * {@code model.safetensors} or shards listed by {@code model.safetensors.index.json}
 * (transformers prefers the single file when both exist, and so do we). Every shard is opened
 * (mapped and validated) up front and checked against the index: each listed tensor is where
 * the index says, and no shard holds a tensor the index does not list or places elsewhere.
 * Tensors are zero-copy views ({@link #tensor}) or converted copies ({@link #load}).
 */
public final class CheckpointWeights implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path folder;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;
    private final Map<String, String> indexMetadata;
    private final boolean sharded;

    private CheckpointWeights(Path folder, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName, Map<String, String> indexMetadata,
                              boolean sharded) {
        this.folder = folder;
        this.sharded = sharded;
        this.files = List.copyOf(files);
        this.byName = Collections.unmodifiableMap(byName);
        this.indexMetadata = Collections.unmodifiableMap(indexMetadata);
    }

    public static CheckpointWeights open(Path folder) throws IOException {
        Path single = folder.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> m = new LinkedHashMap<>();
            for (String n : f.names()) m.put(n, f);
            return new CheckpointWeights(folder, List.of(f), m, Map.of(), false);
        }
        Path index = folder.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return openSharded(folder, index);
        throw new InvalidInputException(folder + ": " + missingWeightsReason(folder));
    }

    private static String missingWeightsReason(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) return "not a directory";
        List<String> names;
        try (var s = Files.list(folder)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        if (names.stream().anyMatch(n -> n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth"))) {
            return "only PyTorch pickle weights (.bin/.pt), which cce4j does not read: save them as safetensors first "
                    + "(model.save_pretrained(dir, safe_serialization=True))";
        }
        List<String> st = names.stream().filter(n -> n.endsWith(".safetensors")).toList();
        if (!st.isEmpty()) {
            return "no " + SINGLE_FILE + " or " + INDEX_FILE + " (found " + String.join(", ", st.subList(0, Math.min(3, st.size())))
                    + "; sharded weights need their index)";
        }
        return "no " + SINGLE_FILE + " or " + INDEX_FILE + " in the folder";
    }

    private static CheckpointWeights openSharded(Path folder, Path index) throws IOException {
        ObjectNode json = Json.readObject(index);
        String src = index.toString();
        JsonNode map = json.get("weight_map");
        if (map == null || !map.isObject()) throw new InvalidInputException(src + ": weight_map must be an object of tensor name -> shard file");
        Map<String, String> indexMetadata = new LinkedHashMap<>();
        JsonNode meta = json.get("metadata");
        if (meta != null && meta.isObject()) meta.properties().forEach(e -> indexMetadata.put(e.getKey(), e.getValue().asText()));

        Map<String, String> fileOf = new LinkedHashMap<>();
        for (var e : map.properties()) {
            if (!e.getValue().isTextual()) throw new InvalidInputException(src + ": weight_map['" + e.getKey() + "'] must be a file name");
            String file = e.getValue().textValue();
            if (file.isEmpty() || file.contains("/") || file.contains("\\") || file.equals("..") || file.equals(".")) {
                throw new InvalidInputException(src + ": weight_map['" + e.getKey() + "'] = '" + file + "' is not a file name in the folder");
            }
            fileOf.put(e.getKey(), file);
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (String file : new TreeSet<>(fileOf.values())) {
                Path p = folder.resolve(file);
                if (!Files.isRegularFile(p)) throw new InvalidInputException(src + ": lists shard " + file + ", which is missing");
                SafetensorsFile f = SafetensorsFile.open(p);
                opened.add(f);
                shards.put(file, f);
            }
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (var e : fileOf.entrySet()) {
                SafetensorsFile f = shards.get(e.getValue());
                if (!f.contains(e.getKey())) {
                    throw new InvalidInputException(src + ": says tensor '" + e.getKey() + "' is in " + e.getValue() + ", which has no such tensor");
                }
                byName.put(e.getKey(), f);
            }
            for (var s : shards.entrySet()) {
                for (String n : s.getValue().names()) {
                    String listed = fileOf.get(n);
                    if (listed == null) {
                        throw new InvalidInputException(src + ": shard " + s.getKey() + " holds tensor '" + n + "', which the index does not list");
                    }
                    if (!listed.equals(s.getKey())) {
                        throw new InvalidInputException(src + ": tensor '" + n + "' is in " + s.getKey() + " but the index places it in " + listed);
                    }
                }
            }
            return new CheckpointWeights(folder, opened, byName, indexMetadata, true);
        } catch (RuntimeException | IOException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    public Path folder() {
        return folder;
    }

    /** True when read through model.safetensors.index.json. */
    public boolean sharded() {
        return sharded;
    }

    /** The safetensors files, in shard order. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** The index's metadata (total_size, total_parameters), empty for a single file. */
    public Map<String, String> indexMetadata() {
        return indexMetadata;
    }

    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new InvalidInputException(folder + ": the checkpoint has no tensor '" + name + "'");
        return f;
    }

    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    /** A zero-copy view. */
    public Tensor tensor(String name) {
        return fileOf(name).tensor(name);
    }

    /** A zero-copy view, after checking the shape. */
    public Tensor tensor(String name, long... shape) {
        return fileOf(name).tensor(name, shape);
    }

    /** A converted copy (bf16/f16/f32... into {@code target}). */
    public Tensor load(String name, DType target) {
        return fileOf(name).load(name, target);
    }

    public void loadInto(String name, Tensor dst) {
        fileOf(name).loadInto(name, dst);
    }

    /** Bytes of tensor data in all files. */
    public long totalBytes() {
        return byName.keySet().stream().mapToLong(n -> info(n).byteSize()).sum();
    }

    /**
     * Checks that every tensor {@code config} implies is present with its shape; extra tensors
     * (old checkpoints' rotary inv_freq buffers, a saved tied lm_head) are allowed, as transformers allows them.
     */
    public void verify(ModelConfig config) {
        long perLayer = HfModules.of(config, 1).parameterShapes().keySet().stream().filter(n -> n.startsWith(HfModules.layerPrefix(0))).count();
        if (perLayer * config.numHiddenLayers() > names().size()) {
            throw new InvalidInputException(folder + ": config.json implies " + config.numHiddenLayers() + " layers of " + perLayer
                    + " tensors but the checkpoint holds " + names().size() + " tensors in all");
        }
        List<String> missing = new ArrayList<>();
        for (var e : HfModules.of(config).parameterShapes().entrySet()) {
            if (!contains(e.getKey())) {
                missing.add(e.getKey());
                continue;
            }
            TensorInfo t = info(e.getKey());
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new InvalidInputException(fileOf(e.getKey()).path() + ": tensor '" + e.getKey() + "' has shape "
                        + Shapes.toString(t.shape()) + " but config.json implies " + Shapes.toString(e.getValue()));
            }
        }
        if (!missing.isEmpty()) {
            throw new InvalidInputException(folder + ": " + missing.size() + " tensors that config.json implies are missing, e.g. "
                    + missing.stream().limit(3).collect(Collectors.joining(", ")));
        }
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
