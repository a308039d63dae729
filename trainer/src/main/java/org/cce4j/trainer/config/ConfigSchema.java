package org.cce4j.trainer.config;

import org.cce4j.trainer.config.ConfigKey.Type;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every key of a training config, with its type, default and meaning, in the order config.yaml lists
 * them. Adding a key here is all it takes for it to be read, defaulted, validated, written into the
 * run's resolved config.yaml and documented (docs/training.md is checked against this list by a test).
 */
public final class ConfigSchema {
    private static final Map<String, ConfigKey> KEYS = new LinkedHashMap<>();
    /** The sections, in order. */
    private static final List<String> SECTIONS = new ArrayList<>();

    static {
        key("model", Type.PATH, null, true, "a Hugging Face checkpoint folder (config.json and *.safetensors)");
        choice("init", "pretrained", "the checkpoint's weights, or fresh seeded weights from its config.json (pretraining from scratch)",
                "pretrained", "random");
        key("device", Type.STRING, null, false, "cpu, cuda or cuda:N; absent = CUDA device 0 when one is usable, else the CPU");
        choice("dtype", "bf16", "weights and activations on a GPU (the CPU computes in f32 whatever this says)", "bf16", "f32");
        key("output", Type.PATH, null, true, "the run folder: config.yaml, metrics.jsonl, loss.png, checkpoints/, final/");

        section("data");
        key("data.train", Type.PATH, null, true, "training data: JSONL in any format below, a .txt file or a folder of them");
        key("data.validation", Type.PATH, null, false, "validation data, the same formats (evaluated every eval.every_steps and at the end)");
        key("data.validation_fraction", Type.DOUBLE, 0.0, false,
                "without data.validation: hold back this fraction of the training documents (seeded by train.seed) as the validation set; 0 = none");
        choice("data.format", "auto", "the data's format, or auto: detected from the first row's fields (.txt files are text)",
                "auto", "tokens", "text", "prompt_completion", "chat", "alpaca");
        choice("data.train_on", "assistant", "which chat tokens are trained on", "assistant", "last_assistant", "all");
        choice("data.text_split", "file", "how .txt files are cut into documents", "file", "blank_lines");
        choice("data.alpaca_style", "prompt", "alpaca rows through Stanford's prompt (a prompt/completion pair) or the chat template", "prompt", "chat");
        key("data.add_eos", Type.BOOL, true, false, "append the tokenizer's eos_token to texts and completions that lack it (as TRL does)");
        key("data.chat_template", Type.PATH, null, false, "a .jinja chat template; absent = the model folder's chat_template.jinja, else tokenizer_config.json's");
        key("data.shuffle", Type.BOOL, true, false, "shuffle the rows, seeded by train.seed, reshuffled each epoch; false = file order");
        key("data.packing", Type.BOOL, false, false, "pack rows into seq_len sequences, best-fit, attention kept within each document; false = padded micro-batches");
        key("data.seq_len", Type.INT, 2048, false, "the longest row trained on");
        choice("data.overflow", "truncate", "a row longer than seq_len is truncated, split into pieces of seq_len (each counted), or refused",
                "truncate", "split", "error");
        key("data.skip_bad_rows", Type.BOOL, false, false, "skip (and count) malformed rows instead of stopping with file:line");
        key("data.pad_token_id", Type.INT, null, false, "the id padding uses; absent = config.json's pad_token_id, else its eos_token_id, else 0");
        key("data.cache", Type.BOOL, true, false, "tokenize once into a token file that later runs map (data larger than memory); false = read into memory every run");
        key("data.cache_dir", Type.PATH, null, false, "the token cache's folder; absent = $CCE4J_TOKEN_CACHE, else ~/.cache/cce4j/tokens");
        key("data.tokenize_threads", Type.INT, null, false, "threads that tokenize into the cache; absent = every available processor");

        section("train");
        key("train.epochs", Type.INT, 1, false, "passes over the training rows");
        key("train.max_steps", Type.INT, 0, false, "optimizer steps at most (0 = no limit); whichever of epochs and max_steps ends first");
        key("train.micro_batch_size", Type.INT, 4, false, "rows per forward and backward");
        key("train.grad_accum", Type.INT, 1, false, "micro-batches per optimizer step");
        key("train.lr", Type.DOUBLE, 2.0e-5, false, "the peak learning rate");
        choice("train.schedule", "cosine", "the learning-rate schedule after warmup, as transformers' get_*_schedule_with_warmup",
                "constant", "linear", "cosine");
        key("train.warmup_steps", Type.INT, 0, false, "steps of linear warmup from 0");
        key("train.warmup_ratio", Type.DOUBLE, 0.0, false, "warmup as a fraction of all steps (used when warmup_steps is 0: ceil(ratio × steps))");
        key("train.weight_decay", Type.DOUBLE, 0.0, false, "AdamW's decoupled decay, on 2-D parameters only (matrices, embeddings, LoRA A and B)");
        key("train.adam_betas", Type.DOUBLE_PAIR, List.of(0.9, 0.999), false, "AdamW's β1, β2");
        key("train.adam_eps", Type.DOUBLE, 1.0e-8, false, "AdamW's ε");
        key("train.max_grad_norm", Type.DOUBLE, 1.0, false, "clip the global L2 norm of the gradients to this (0 = no clipping)");
        key("train.seed", Type.INT, 0, false, "seeds the shuffle, LoRA's initial A, dropout and random init");
        key("train.recompute", Type.BOOL, false, false, "activation recomputation: keep each layer's input only, run its forward again in the backward");
        key("train.log_every", Type.INT, 10, false, "a progress line every this many steps when stderr is not a terminal");
        key("train.bucket_mb", Type.DOUBLE, 25.0, false, "with several ranks: gradients are summed in buckets of about this many MB, each as soon as the backward has finished it");
        key("train.optimizer_in_backward", Type.BOOL, false, false, "apply AdamW to each layer's parameters as soon as the backward has finished their gradients and free them (torchtune's optimizer_in_bwd): 4 bytes per parameter less at the peak; needs max_grad_norm 0, grad_accum 1, one rank");
        key("train.zero", Type.INT, 0, false, "with several ranks: 1 = ZeRO-1, each rank keeps the optimizer state of its share of the parameters; 0 = every rank keeps all of it");

        section("loss");
        choice("loss.impl", "cce", "the classifier head's loss: Cut Cross-Entropy, its unfiltered variant, or the materialized baseline",
                "cce", "cce-exact", "baseline");
        key("loss.z_loss", Type.DOUBLE, 0.0, false, "z-loss weight λ (adds λ·lse² per token)");
        key("loss.label_smoothing", Type.DOUBLE, 0.0, false, "label smoothing α in [0, 1]");
        key("loss.filter_eps", Type.DOUBLE, null, false, "CCE's gradient filter threshold; absent = automatic (the input type's ε / 32)");
        key("loss.filter_e_grad", Type.BOOL, true, false, "whether the gradient of the hidden states may skip blocks below filter_eps");
        key("loss.filter_c_grad", Type.BOOL, true, false, "whether the classifier's gradient may skip them (false: the CCE paper's \"full C\" variant, cce-full-c)");

        optionalSection("lora", "LoRA adapters on the target modules; absent = full fine-tuning");
        key("lora.r", Type.INT, 16, false, "the adapters' rank");
        key("lora.alpha", Type.DOUBLE, 32.0, false, "the scaling is alpha / r");
        key("lora.dropout", Type.DOUBLE, 0.05, false, "dropout on the adapters' input");
        key("lora.target_modules", Type.STRING_LIST, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), false,
                "the projections that get adapters, by transformers' module names");
        key("lora.init", Type.PATH, null, false, "a PEFT adapter folder to start from; its r, alpha and target modules are used (absent: A kaiming-uniform, B zero)");

        section("save");
        key("save.every_steps", Type.INT, 500, false, "a checkpoint every this many optimizer steps (0 = only the final model)");
        key("save.keep", Type.INT, 3, false, "how many of the newest checkpoints to keep");

        section("eval");
        key("eval.every_steps", Type.INT, 200, false, "evaluate on data.validation every this many steps (0 = only at the end)");
    }

    private ConfigSchema() {}

    private static void key(String path, Type type, Object def, boolean required, String doc) {
        KEYS.put(path, new ConfigKey(path, type, def, required, List.of(), doc));
    }

    private static void choice(String path, String def, String doc, String... choices) {
        KEYS.put(path, new ConfigKey(path, Type.CHOICE, def, false, List.of(choices), doc));
    }

    private static void section(String name) {
        SECTIONS.add(name);
    }

    private static void optionalSection(String name, String doc) {
        SECTIONS.add(name);
        KEYS.put(name, new ConfigKey(name, Type.OPTIONAL_SECTION, null, false, List.of(), doc));
    }

    /** Every key by path, in order (optional sections included as keys of their own). */
    public static Map<String, ConfigKey> keys() {
        return Collections.unmodifiableMap(KEYS);
    }

    public static List<String> sections() {
        return List.copyOf(SECTIONS);
    }

    public static boolean isSection(String path) {
        return SECTIONS.contains(path);
    }

    /** The keys a section (or "" for the top level) may hold. */
    public static List<ConfigKey> keysOf(String section) {
        return KEYS.values().stream().filter(k -> k.section().equals(section) && k.type() != Type.OPTIONAL_SECTION).toList();
    }
}
