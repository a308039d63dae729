package org.cce4j.checkpoints.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training state as one safetensors file, so that one atomic rename publishes all of it (no
 * moment of a half-updated directory). The tensors are the optimizer's; the scalars travel as
 * one JSON string in {@code __metadata__}:
 * <pre>
 *   __metadata__: {"format": "cce4j-training-state",
 *                  "cce4j.training_state": "{\"version\":1,\"step\":1200,\"data\":{\"epoch\":0,\"index\":76800},
 *                                           \"rng\":[...],\"properties\":{...}}"}
 *   exp_avg.model.layers.0.self_attn.q_proj.lora_A.weight   F32 [...]
 * </pre>
 * Reading validates the file like any safetensors file and the JSON strictly; the tensors are
 * zero-copy views valid until {@link #close()}.
 */
public final class TrainingStateFile implements AutoCloseable {
    public static final String FORMAT = "cce4j-training-state";
    private static final String KEY = "cce4j.training_state";
    private static final int VERSION = 1;

    private final SafetensorsFile file;
    private final TrainingState state;

    private TrainingStateFile(SafetensorsFile file, TrainingState state) {
        this.file = file;
        this.state = state;
    }

    public static void write(Path path, TrainingState state) throws IOException {
        ObjectNode json = Json.mapper().createObjectNode();
        json.put("version", VERSION);
        json.put("step", state.step());
        ObjectNode data = json.putObject("data");
        data.put("epoch", state.data().epoch());
        data.put("index", state.data().index());
        ArrayNode rng = json.putArray("rng");
        for (long w : state.rngState()) rng.add(w);
        ObjectNode props = json.putObject("properties");
        state.properties().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> props.put(e.getKey(), e.getValue()));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put(KEY, json.toString());
        List<TensorEntry> entries = new ArrayList<>();
        state.tensors().forEach((name, t) -> entries.add(TensorEntry.of(name, t)));
        SafetensorsWriter.write(path, meta, entries);
    }

    public static TrainingStateFile open(Path path) throws IOException {
        SafetensorsFile file = SafetensorsFile.open(path);
        try {
            String src = path.toString();
            if (!FORMAT.equals(file.metadata().get("format"))) {
                throw new InvalidInputException(src + ": not a cce4j training state (metadata format is " + file.metadata().get("format") + ")");
            }
            String text = file.metadata().get(KEY);
            if (text == null) throw new InvalidInputException(src + ": metadata lacks " + KEY);
            ObjectNode json = Json.parseObject(text.getBytes(java.nio.charset.StandardCharsets.UTF_8), src + " " + KEY);
            int version = json.path("version").asInt(-1);
            if (version != VERSION) throw new InvalidInputException(src + ": training state version " + version + " (this cce4j reads " + VERSION + ")");
            long step = requireLong(json, "step", src);
            JsonNode data = json.get("data");
            if (data == null || !data.isObject()) throw new InvalidInputException(src + ": training state lacks its data position");
            var position = new TrainingState.DataPosition(requireLong((ObjectNode) data, "epoch", src), requireLong((ObjectNode) data, "index", src));
            JsonNode rng = json.get("rng");
            if (rng == null || !rng.isArray()) throw new InvalidInputException(src + ": training state lacks its RNG state");
            long[] words = new long[rng.size()];
            for (int i = 0; i < words.length; i++) {
                if (!rng.get(i).canConvertToLong() || !rng.get(i).isIntegralNumber()) throw new InvalidInputException(src + ": RNG state word " + i + " is not an integer");
                words[i] = rng.get(i).longValue();
            }
            Map<String, String> props = new LinkedHashMap<>();
            json.path("properties").properties().forEach(e -> props.put(e.getKey(), e.getValue().asText()));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String n : file.names()) tensors.put(n, file.tensor(n));
            return new TrainingStateFile(file, new TrainingState(step, position, words, props, tensors));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static long requireLong(ObjectNode json, String key, String src) {
        JsonNode v = json.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new InvalidInputException(src + ": training state field " + key + " must be a non-negative integer");
        }
        return v.longValue();
    }

    /** The state; its tensors are views into the file. */
    public TrainingState state() {
        return state;
    }

    @Override
    public void close() {
        file.close();
    }
}
