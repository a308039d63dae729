package org.cce4j.checkpoints.hf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The fields of generation_config.json that sampling and stopping need (others are ignored).
 * Null means "not set" (transformers then falls back to its GenerationConfig defaults, e.g.
 * temperature 1.0, top_k 50, top_p 1.0, do_sample false).
 */
public record GenerationConfig(
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        Boolean doSample,
        Double temperature,
        Double topP,
        Integer topK,
        Double repetitionPenalty,
        Integer maxLength,
        Integer maxNewTokens,
        String transformersVersion) {

    public GenerationConfig {
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
    }

    public static GenerationConfig read(Path file) throws IOException {
        return parse(Json.readObject(file), file.toString());
    }

    public static GenerationConfig parse(ObjectNode json, String source) {
        JsonFields f = new JsonFields(json, source);
        return new GenerationConfig(
                f.intOrNull("bos_token_id", null), f.intList("eos_token_id", null), f.intOrNull("pad_token_id", null),
                f.has("do_sample") ? f.bool("do_sample", false) : null,
                f.doubleOrNull("temperature", null), f.doubleOrNull("top_p", null), f.intOrNull("top_k", null),
                f.doubleOrNull("repetition_penalty", null), f.intOrNull("max_length", null), f.intOrNull("max_new_tokens", null),
                f.stringOrNull("transformers_version", null));
    }
}
