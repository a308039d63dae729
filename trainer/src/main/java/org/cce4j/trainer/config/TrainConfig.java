package org.cce4j.trainer.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.core.loss.CceImpl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A training run's settings, typed: what {@link ConfigReader} resolved from config.yaml (the keys,
 * their defaults and meanings are {@link ConfigSchema}'s). A Java program builds one directly, or
 * reads one with {@link #read(Path, List)}; {@link #resolved()} is the tree written into the run folder.
 */
public record TrainConfig(Path model, boolean randomInit, String device, String dtype, Path output,
                          Data data, Train train, Loss loss, Lora lora, Save save, Eval eval, ObjectNode resolved) {

    /**
     * @param format      auto, tokens, text, prompt_completion, chat or alpaca
     * @param overflow    truncate, split or error
     * @param validationFraction the fraction of the training documents held back when no validation file is given (0 = none)
     * @param cache       tokenize through the token cache
     * @param cacheDir    the cache's folder, or null for the default
     * @param tokenizeThreads tokenizing threads, or null for every processor
     */
    public record Data(Path train, Path validation, double validationFraction, String format, String trainOn, String textSplit,
                       String alpacaStyle, boolean addEos, Path chatTemplate, boolean shuffle, boolean packing, int seqLen, String overflow,
                       boolean skipBadRows, Integer padTokenId, boolean cache, Path cacheDir, Integer tokenizeThreads) {}

    public enum Schedule { CONSTANT, LINEAR, COSINE }

    public record Train(int epochs, int maxSteps, int microBatchSize, int gradAccum, double lr, Schedule schedule,
                        int warmupSteps, double warmupRatio, double weightDecay, double beta1, double beta2, double adamEps,
                        double maxGradNorm, long seed, boolean recompute, int logEvery, double bucketMb, int zero,
                        boolean optimizerInBackward) {}

    /** @param filterEps NaN = automatic */
    public record Loss(CceImpl impl, double zLoss, double labelSmoothing, double filterEps, boolean filterEGrad, boolean filterCGrad) {}

    /** LoRA settings; null in {@link TrainConfig} = full fine-tuning. */
    public record Lora(int r, double alpha, double dropout, List<String> targetModules, Path init) {}

    public record Save(int everySteps, int keep) {}

    public record Eval(int everySteps) {}

    /** Reads {@code file} with overrides ("train.lr=2e-5"); every error is one line naming the key. */
    public static TrainConfig read(Path file, List<String> overrides) {
        return of(ConfigReader.read(file, overrides));
    }

    /** The typed view of a resolved tree. */
    public static TrainConfig of(ObjectNode c) {
        Data data = new Data(path(c, "data.train"), path(c, "data.validation"), number(c, "data.validation_fraction"), text(c, "data.format"),
                text(c, "data.train_on"), text(c, "data.text_split"), text(c, "data.alpaca_style"), bool(c, "data.add_eos"),
                path(c, "data.chat_template"), bool(c, "data.shuffle"), bool(c, "data.packing"), integer(c, "data.seq_len"),
                text(c, "data.overflow"), bool(c, "data.skip_bad_rows"), nullableInt(c, "data.pad_token_id"), bool(c, "data.cache"),
                path(c, "data.cache_dir"), nullableInt(c, "data.tokenize_threads"));
        JsonNode betas = ConfigReader.at(c, "train.adam_betas");
        Train train = new Train(integer(c, "train.epochs"), integer(c, "train.max_steps"), integer(c, "train.micro_batch_size"),
                integer(c, "train.grad_accum"), number(c, "train.lr"), Schedule.valueOf(text(c, "train.schedule").toUpperCase(java.util.Locale.ROOT)),
                integer(c, "train.warmup_steps"), number(c, "train.warmup_ratio"), number(c, "train.weight_decay"),
                betas.get(0).asDouble(), betas.get(1).asDouble(), number(c, "train.adam_eps"), number(c, "train.max_grad_norm"),
                ConfigReader.at(c, "train.seed").asLong(), bool(c, "train.recompute"), integer(c, "train.log_every"),
                number(c, "train.bucket_mb"), integer(c, "train.zero"), bool(c, "train.optimizer_in_backward"));
        JsonNode fe = ConfigReader.at(c, "loss.filter_eps");
        Loss loss = new Loss(CceImpl.parse(text(c, "loss.impl")), number(c, "loss.z_loss"), number(c, "loss.label_smoothing"),
                fe.isNull() ? Double.NaN : fe.asDouble(), bool(c, "loss.filter_e_grad"), bool(c, "loss.filter_c_grad"));
        Lora lora = null;
        if (!c.get("lora").isNull()) {
            List<String> targets = new ArrayList<>();
            ConfigReader.at(c, "lora.target_modules").forEach(n -> targets.add(n.asText()));
            lora = new Lora(integer(c, "lora.r"), number(c, "lora.alpha"), number(c, "lora.dropout"), List.copyOf(targets), path(c, "lora.init"));
        }
        return new TrainConfig(path(c, "model"), text(c, "init").equals("random"), nullableText(c, "device"), text(c, "dtype"),
                path(c, "output"), data, train, loss, lora, new Save(integer(c, "save.every_steps"), integer(c, "save.keep")),
                new Eval(integer(c, "eval.every_steps")), c.deepCopy());
    }

    private static Path path(ObjectNode c, String key) {
        JsonNode v = ConfigReader.at(c, key);
        return v == null || v.isNull() ? null : Path.of(v.asText());
    }

    private static String text(ObjectNode c, String key) {
        return ConfigReader.at(c, key).asText();
    }

    private static String nullableText(ObjectNode c, String key) {
        JsonNode v = ConfigReader.at(c, key);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static int integer(ObjectNode c, String key) {
        return ConfigReader.at(c, key).asInt();
    }

    private static Integer nullableInt(ObjectNode c, String key) {
        JsonNode v = ConfigReader.at(c, key);
        return v == null || v.isNull() ? null : v.asInt();
    }

    private static double number(ObjectNode c, String key) {
        return ConfigReader.at(c, key).asDouble();
    }

    private static boolean bool(ObjectNode c, String key) {
        return ConfigReader.at(c, key).asBoolean();
    }
}
