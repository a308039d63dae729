package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerConfig;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.generate.Generator;
import org.cce4j.transformer.generate.SamplingOptions;
import org.cce4j.transformer.generate.StopTokens;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code generate}: continues a prompt with a model (and optionally a LoRA adapter), so that a user
 * sees what training did. The prompt is encoded with the model folder's tokenizer.json as
 * {@code tokenizer(prompt)} does (special tokens added), or with --chat rendered through the chat
 * template (chat_template.jinja, else tokenizer_config.json's) as one user turn with the generation prompt (then encoded without adding special tokens,
 * as apply_chat_template does). The continuation is printed on stdout as it comes; one line on stderr
 * says how many tokens, how fast and why it stopped. Decoding is transformers' generate for a batch of
 * one with a KV cache: greedy at temperature 0 (the default), else sampling (org.cce4j.transformer.generate).
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Continues a prompt with a model (and optionally a LoRA adapter) and prints the continuation as it comes.",
            "Greedy by default (--temperature 0); with a temperature, samples after top-k and top-p, seeded by --seed.",
            "Stops at generation_config.json's eos_token_id (else config.json's) or after --max-new-tokens."})
public final class GenerateCommand implements Callable<Integer>, MemoryHint {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model folder (config.json, *.safetensors, tokenizer.json)")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter folder to apply (e.g. a run's final/).")
    Path adapter;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The text to continue.")
    String prompt;

    @Option(names = "--chat", description = "Render the prompt as a user turn through the chat template (chat_template.jinja or tokenizer_config.json), with the generation prompt.")
    boolean chat;

    @Option(names = "--max-new-tokens", paramLabel = "N", converter = Converters.PositiveInt.class,
            description = "Generate at most N tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens = 128;

    @Option(names = "--temperature", paramLabel = "T", description = "0: greedy (the default); > 0: sample from softmax(logits / T).")
    double temperature = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "Sample from the smallest set of tokens whose probability reaches P (default: 1, off).")
    double topP = 1;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample from the K most likely tokens (default: 0, off; transformers' own default is 50).")
    int topK = 0;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the sampling (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--dtype", converter = Converters.DTypeConverter.class, paramLabel = "f32|bf16",
            description = "Compute dtype (default: f32 on the CPU, bf16 on CUDA).")
    DType dtype;

    @Override
    public Integer call() throws Exception {
        InputFiles.requireFolder("--model", model);
        if (adapter != null) InputFiles.requireFolder("--adapter", adapter);
        Path tokenizerFile = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new InvalidInputException("--model " + model + ": no tokenizer.json (generate encodes the prompt with the model folder's tokenizer)");
        }
        SamplingOptions sampling;
        try {
            sampling = new SamplingOptions(temperature, topK, topP, seed);
        } catch (InvalidInputException e) {
            throw new InvalidInputException("--" + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Tokenizer tokenizer = Tokenizer.load(model);
        int[] ids = encode(tokenizer, err);
        Device device = common.chooseDevice(err).device();
        Backend backend = Backends.create(device, dtype);
        try (HfCheckpoint ckpt = HfCheckpoint.open(model);
             TransformerModel m = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend)) {
            int vocab = ckpt.config().vocabSize();
            for (int id : ids) {
                if (id >= vocab) throw new InvalidInputException("--prompt: token " + id + " is outside the model's vocabulary of " + vocab
                        + " (is " + tokenizerFile + " this model's tokenizer?)");
            }
            if (adapter != null) {
                try (LoraAdapter lora = LoraAdapter.open(adapter)) {
                    LoraAdapters.attach(m, lora.config(), lora, 0);
                }
            }
            Set<Integer> stop = StopTokens.of(ckpt.config(), ckpt.generationConfig().orElse(null));
            TextStream stream = new TextStream(tokenizer, out);
            long start = System.nanoTime();
            Generator.Generated g = Generator.generate(m, ids, maxNewTokens, sampling, stop, stream::add);
            double seconds = (System.nanoTime() - start) / 1e9;
            stream.finish();
            int n = g.tokens().length;
            String why = g.stop() == Generator.Stop.STOP_TOKEN
                    ? "stop token " + g.tokens()[n - 1] + " (" + tokenizer.idToToken(g.tokens()[n - 1]) + ")"
                    : "--max-new-tokens " + maxNewTokens;
            String unknown = stream.unknown == 0 ? "" : "; " + stream.unknown + " ids the tokenizer has no token for are not in the text";
            err.printf(Locale.ROOT, "generate: %d prompt tokens, %d new in %.2f s (%.1f tokens/s) on %s; stopped by %s%s%n",
                    ids.length, n, seconds, n / Math.max(seconds, 1e-9), device, why, unknown);
            err.flush();
        }
        return 0;
    }

    /** The prompt's ids: tokenizer(prompt), or with --chat the chat template's rendering of it as a user turn. */
    private int[] encode(Tokenizer tokenizer, PrintWriter err) throws IOException {
        if (!chat) return tokenizer.encode(prompt, true);
        String text = chatTemplate(tokenizer).render(List.of(ChatTemplate.message("user", prompt)), true);
        if (common.verbose) {
            err.println("prompt (chat template): " + text);
            err.flush();
        }
        return tokenizer.encode(text, false);
    }

    /**
     * The model folder's chat template: chat_template.jinja when there is one (where transformers saves it
     * since 4.43, and what it loads first), else tokenizer_config.json's chat_template.
     */
    private ChatTemplate chatTemplate(Tokenizer tokenizer) throws IOException {
        Path jinja = model.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            TokenizerConfig c = tokenizer.config();
            Map<String, Object> specials = new HashMap<>();
            if (c.bosToken() != null) specials.put("bos_token", c.bosToken());
            if (c.eosToken() != null) specials.put("eos_token", c.eosToken());
            if (c.unkToken() != null) specials.put("unk_token", c.unkToken());
            if (c.padToken() != null) specials.put("pad_token", c.padToken());
            return new ChatTemplate(Files.readString(jinja), specials);
        }
        if (tokenizer.config().chatTemplate() == null) {
            throw new InvalidInputException("--chat: " + model + " has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json)");
        }
        return ChatTemplate.of(tokenizer);
    }

    @Override
    public String toLowerMemory() {
        return "--max-new-tokens or the prompt (or use --dtype bf16 on CUDA)";
    }
}
