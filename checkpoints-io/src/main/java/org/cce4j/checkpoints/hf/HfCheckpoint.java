package org.cce4j.checkpoints.hf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A Hugging Face model folder as {@code save_pretrained} writes it:
 * <pre>
 *   config.json                      -> {@link #config()} (and the raw JSON, to write back when saving)
 *   generation_config.json           -> {@link #generationConfig()} (optional)
 *   model.safetensors                -> {@link #weights()}
 *   | model-00001-of-00002.safetensors ... + model.safetensors.index.json
 * </pre>
 * Opening reads both JSON files, maps and validates every weight file, and checks that every
 * tensor the config implies is there with the right shape; tensors stay in the page cache until
 * asked for.
 */
public final class HfCheckpoint implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";

    private final Path folder;
    private final ObjectNode configJson;
    private final ModelConfig config;
    private final GenerationConfig generationConfig;
    private final CheckpointWeights weights;

    private HfCheckpoint(Path folder, ObjectNode configJson, ModelConfig config, GenerationConfig generationConfig, CheckpointWeights weights) {
        this.folder = folder;
        this.configJson = configJson;
        this.config = config;
        this.generationConfig = generationConfig;
        this.weights = weights;
    }

    public static HfCheckpoint open(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new InvalidInputException(folder + ": " + (Files.exists(folder) ? "not a directory" : "no such directory"));
        }
        Path configFile = folder.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new InvalidInputException(folder + ": no config.json (not a Hugging Face model folder)");
        }
        ObjectNode json = Json.readObject(configFile);
        ModelConfig config = ModelConfigParser.parse(json, configFile.toString());
        Path gen = folder.resolve(GENERATION_CONFIG);
        GenerationConfig generation = Files.isRegularFile(gen) ? GenerationConfig.read(gen) : null;
        CheckpointWeights weights = CheckpointWeights.open(folder);
        try {
            weights.verify(config);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
        return new HfCheckpoint(folder, json, config, generation, weights);
    }

    public Path folder() {
        return folder;
    }

    public ModelConfig config() {
        return config;
    }

    /** config.json as read (a copy), e.g. to save a fine-tuned model with the same config. */
    public ObjectNode configJson() {
        return configJson.deepCopy();
    }

    public Optional<GenerationConfig> generationConfig() {
        return Optional.ofNullable(generationConfig);
    }

    public CheckpointWeights weights() {
        return weights;
    }

    @Override
    public void close() {
        weights.close();
    }
}
