package org.cce4j.transformer.generate;

import org.cce4j.checkpoints.hf.GenerationConfig;
import org.cce4j.checkpoints.hf.ModelConfig;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The tokens that end generation, as transformers finds them: generation_config.json's eos_token_id
 * (one id or a list, e.g. Llama 3.1's end-of-text, end-of-message and end-of-turn) when it gives any,
 * else config.json's. The stopping token is part of the output, as in transformers.
 */
public final class StopTokens {
    private StopTokens() {}

    /** @param generation generation_config.json, or null when the folder has none */
    public static Set<Integer> of(ModelConfig config, GenerationConfig generation) {
        Set<Integer> ids = new LinkedHashSet<>();
        if (generation != null) ids.addAll(generation.eosTokenIds());
        if (ids.isEmpty()) ids.addAll(config.eosTokenIds());
        return Set.copyOf(ids);
    }
}
