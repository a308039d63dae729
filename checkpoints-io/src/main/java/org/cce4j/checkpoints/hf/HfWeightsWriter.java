package org.cce4j.checkpoints.hf;

import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Writes a model's weights into a folder exactly as transformers' {@code save_pretrained} does:
 * tensors are assigned to shards in state-dict order, a new shard starting when the next tensor
 * would push the current one past {@code maxShardBytes} (a tensor larger than the limit gets a
 * shard of its own), as huggingface_hub's {@code split_state_dict_into_shards_factory} does.
 * One shard is written as {@code model.safetensors}; several as
 * {@code model-00001-of-00003.safetensors} ... plus {@code model.safetensors.index.json}
 * ({@code {"metadata": {"total_parameters": P, "total_size": S}, "weight_map": {...}}}, keys
 * sorted, two-space indent). Each file is atomic; the index is written after its shards, and
 * stale shards of an earlier save are removed last, so a crash leaves either the old or the new
 * checkpoint readable.
 */
public final class HfWeightsWriter {
    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private HfWeightsWriter() {}

    /** The shard plan: file name → entries, in order. */
    public static Map<String, List<TensorEntry>> plan(List<TensorEntry> entries, long maxShardBytes) {
        List<List<TensorEntry>> shards = new ArrayList<>();
        List<TensorEntry> current = new ArrayList<>();
        long currentSize = 0;
        for (TensorEntry e : entries) {
            long size = e.fileBytes();
            if (size > maxShardBytes) {
                shards.add(List.of(e));
                continue;
            }
            if (currentSize + size > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentSize = 0;
            }
            current.add(e);
            currentSize += size;
        }
        if (!current.isEmpty()) shards.add(current);
        Map<String, List<TensorEntry>> plan = new LinkedHashMap<>();
        if (shards.size() <= 1) {
            plan.put(CheckpointWeights.SINGLE_FILE, shards.isEmpty() ? List.of() : shards.getFirst());
            return plan;
        }
        int n = shards.size();
        for (int i = 0; i < n; i++) {
            plan.put(String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, n), shards.get(i));
        }
        return plan;
    }

    /**
     * Writes {@code entries} (state-dict order) into {@code folder}, with metadata {"format": "pt"}
     * that transformers checks; returns the files written.
     */
    public static List<Path> write(Path folder, List<TensorEntry> entries, long maxShardBytes) throws IOException {
        Set<String> names = new HashSet<>();
        for (TensorEntry e : entries) {
            if (!names.add(e.name())) throw new IllegalArgumentException("duplicate tensor name '" + e.name() + "'");
        }
        Files.createDirectories(folder);
        Map<String, List<TensorEntry>> plan = plan(entries, maxShardBytes);
        List<Path> written = new ArrayList<>();
        Map<String, String> meta = Map.of("format", "pt");
        for (var shard : plan.entrySet()) {
            Path p = folder.resolve(shard.getKey());
            SafetensorsWriter.write(p, meta, shard.getValue());
            written.add(p);
        }
        if (plan.size() > 1) {
            Map<String, String> weightMap = new TreeMap<>();
            long totalSize = 0;
            long totalParameters = 0;
            for (var shard : plan.entrySet()) {
                for (TensorEntry e : shard.getValue()) {
                    weightMap.put(e.name(), shard.getKey());
                    totalSize += e.fileBytes();
                    totalParameters += e.numel();
                }
            }
            Map<String, Object> metadata = new TreeMap<>(Map.of("total_parameters", totalParameters, "total_size", totalSize));
            Map<String, Object> index = new LinkedHashMap<>();
            index.put("metadata", metadata);
            index.put("weight_map", weightMap);
            Path indexFile = folder.resolve(CheckpointWeights.INDEX_FILE);
            Json.writePythonStyle(indexFile, index);
            written.add(indexFile);
        }
        removeStale(folder, plan);
        return written;
    }

    /** Shards (and a single file or index) of an earlier save that the new one does not use. */
    private static void removeStale(Path folder, Map<String, List<TensorEntry>> plan) throws IOException {
        boolean sharded = plan.size() > 1;
        try (var files = Files.list(folder)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                boolean stale = (SHARD_NAME.matcher(name).matches() && !plan.containsKey(name))
                        || (sharded && name.equals(CheckpointWeights.SINGLE_FILE))
                        || (!sharded && name.equals(CheckpointWeights.INDEX_FILE));
                if (stale) Files.deleteIfExists(p);
            }
        }
        AtomicFiles.syncDirectory(folder);
    }

    /** "5GB" (10^9), "500MB", "2GiB" (2^30), "1000" (bytes): transformers' max_shard_size spellings. */
    public static long parseSize(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        String[][] units = {{"TIB", "1099511627776"}, {"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"},
                {"TB", "1000000000000"}, {"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}};
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                double v = Double.parseDouble(t.substring(0, t.length() - u[0].length()).trim());
                return (long) (v * Long.parseLong(u[1]));
            }
        }
        return Long.parseLong(t);
    }
}
