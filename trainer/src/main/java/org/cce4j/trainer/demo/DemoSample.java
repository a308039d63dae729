package org.cce4j.trainer.demo;

import org.cce4j.checkpoints.hf.GenerationConfig;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.core.tensor.Device;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.generate.Generator;
import org.cce4j.transformer.generate.SamplingOptions;
import org.cce4j.transformer.generate.StopTokens;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.cce4j.checkpoints.hf.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A greedy sample from a demo model, by the code `generate` runs (the tokenizer and chat template of
 * the model folder, {@link Generator} with a KV cache, the folder's stop tokens): of a trained folder,
 * with a LoRA adapter or without, or of the fresh weights a pretraining run starts from (the same
 * seeded draw as train's {@code init: random}), to show what training changed.
 */
public final class DemoSample {
    private DemoSample() {}

    /** A greedy continuation of {@code prompt}, or with {@code chat} the assistant's reply to it as a user turn. */
    public static String generate(Path folder, boolean randomInit, long seed, Path adapter, String prompt, boolean chat, int maxNewTokens,
                                  Device device) throws IOException {
        Tokenizer tokenizer = Tokenizer.load(folder);
        int[] ids = chat
                ? tokenizer.encode(ChatTemplate.of(tokenizer, folder).render(List.of(ChatTemplate.message("user", prompt)), true), false)
                : tokenizer.encode(prompt, true);
        Backend backend = Backends.create(device, null);
        Path gen = folder.resolve(HfCheckpoint.GENERATION_CONFIG);
        GenerationConfig generation = Files.isRegularFile(gen) ? GenerationConfig.read(gen) : null;
        if (randomInit) {
            ModelConfig config = ModelConfigParser.read(folder.resolve(HfCheckpoint.CONFIG));
            try (TransformerModel m = new TransformerModel(config, ParameterStore.random(config, backend, seed, 0.02), backend)) {
                return run(m, tokenizer, ids, maxNewTokens, StopTokens.of(config, generation));
            }
        }
        try (HfCheckpoint ckpt = HfCheckpoint.open(folder);
             TransformerModel m = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend)) {
            if (adapter != null) {
                try (LoraAdapter lora = LoraAdapter.open(adapter)) {
                    LoraAdapters.attach(m, lora.config(), lora, 0);
                }
            }
            return run(m, tokenizer, ids, maxNewTokens, StopTokens.of(ckpt.config(), generation));
        }
    }

    private static String run(TransformerModel m, Tokenizer tokenizer, int[] ids, int maxNewTokens, Set<Integer> stop) {
        Generator.Generated g = Generator.generate(m, ids, maxNewTokens, SamplingOptions.greedy(), stop, null);
        return tokenizer.decode(g.tokens(), true);
    }
}
