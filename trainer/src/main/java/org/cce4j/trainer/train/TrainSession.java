package org.cce4j.trainer.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.CheckpointWeights;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.device.DeviceChoice;
import org.cce4j.core.device.Devices;
import org.cce4j.core.tensor.DType;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.distributed.DataParallel;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.Overflow;
import org.cce4j.trainer.data.formats.AlpacaStyle;
import org.cce4j.trainer.data.formats.DataFormat;
import org.cce4j.trainer.data.TokenRows;
import org.cce4j.trainer.data.ValidationSplit;
import org.cce4j.trainer.data.formats.CachedDatasetReader;
import org.cce4j.trainer.data.packing.TokenCache;
import org.cce4j.trainer.data.formats.FormatOptions;
import org.cce4j.trainer.data.formats.LoadedDataset;
import org.cce4j.trainer.data.formats.TextSplit;
import org.cce4j.trainer.data.formats.TrainOn;
import org.cce4j.trainer.data.RowFileReader;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.PaddedPlan;
import org.cce4j.trainer.data.StepPlan;
import org.cce4j.trainer.data.TrainingPlan;
import org.cce4j.trainer.data.packing.PackedPlan;
import org.cce4j.trainer.metrics.Progress;
import org.cce4j.trainer.optim.AdamW;
import org.cce4j.trainer.optim.LrSchedule;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * Everything a run is built from, set up in the order the config implies: the device and backend,
 * the model (the checkpoint's weights, fresh seeded ones, or — resuming a full fine-tune — the
 * checkpoint's), the LoRA adapters (fresh, from lora.init, or from the checkpoint), the rows (through
 * the token cache unless data.cache is false; less those data.validation_fraction holds back) and the
 * plan of steps, the optimizer and the schedule. Closing frees the device memory.
 */
public final class TrainSession implements AutoCloseable {
    final TrainConfig config;
    final DeviceChoice device;
    final Backend backend;
    final ModelConfig modelConfig;
    final ObjectNode configJson;
    final TransformerModel model;
    final LoraConfig lora;
    final DType modelFileType;
    final int padTokenId;
    final LoadedDataset train;
    final LoadedDataset validation;
    /** What is trained on: the training file's rows, less those data.validation_fraction holds back. */
    final TokenRows trainRows;
    /** What is evaluated: the validation file's rows, or those held back; null: no evaluation. */
    final TokenRows validationRows;
    /** The held-back split, or null. */
    final ValidationSplit split;
    final StepPlan plan;
    final LrSchedule schedule;
    final AdamW optimizer;
    /** The other ranks, or null; with ZeRO-1 it keeps the optimizer state and {@link #optimizer} keeps none. */
    final DataParallel dp;

    /**
     * @param resumeFrom the checkpoint folder to take the trained weights from (its model files), or null
     * @param err        where tokenizing progress and the cache's messages go
     * @param terminal   a progress bar (true), plain lines (false), or null: a bar when stderr is a terminal
     */
    TrainSession(TrainConfig config, Path resumeFrom, PrintStream err, Boolean terminal) throws IOException {
        this(config, resumeFrom, err, terminal, config.device(), null);
    }

    /**
     * @param deviceName the device to compute on (the config's, or a rank's own GPU)
     * @param dp     with several ranks: which optimizer state this rank keeps, and the gradient buckets; null = one rank
     */
    TrainSession(TrainConfig config, Path resumeFrom, PrintStream err, Boolean terminal, String deviceName, DataParallel dp) throws IOException {
        this.config = config;
        this.dp = dp;
        if (dp != null) DataParallel.checkGradAccum(config.train().gradAccum(), dp.size());
        if (terminal == null) terminal = err == System.err && Progress.stderrIsTerminal();
        Path modelDir = config.model();
        if (modelDir == null || !Files.isDirectory(modelDir)) {
            throw new InvalidInputException("model " + modelDir + ": " + (modelDir != null && Files.exists(modelDir) ? "not a folder" : "no such folder"));
        }
        Path configFile = modelDir.resolve(HfCheckpoint.CONFIG);
        if (!Files.isRegularFile(configFile)) throw new InvalidInputException("model " + modelDir + ": no config.json (not a Hugging Face model folder)");
        this.configJson = Json.readObject(configFile);
        this.modelConfig = ModelConfigParser.parse(configJson, configFile.toString());
        this.device = Devices.choose(deviceName);
        DType compute = device.device().isCpu() ? null : parseDtype(config.dtype());
        this.backend = Backends.create(device.device(), compute);
        this.padTokenId = padTokenId(config, modelConfig);

        // data first: a bad row is found before minutes of weight loading
        TrainConfig.Data d = config.data();
        RowOptions rowOptions = new RowOptions(modelConfig.vocabSize(), d.seqLen(), Overflow.parse(d.overflow()), d.skipBadRows());
        FormatOptions formats = new FormatOptions(d.format().equals("auto") ? null : DataFormat.parse(d.format()), rowOptions,
                TextSplit.parse(d.textSplit()), TrainOn.parse(d.trainOn()), AlpacaStyle.parse(d.alpacaStyle()), d.addEos());
        Path tokenizerFile = modelDir.resolve("tokenizer.json");
        Tokenizer tokenizer = Files.isRegularFile(tokenizerFile) ? Tokenizer.load(modelDir) : null;
        Supplier<ChatTemplate> template = d.chatTemplate() != null ? () -> ChatTemplate.fromFile(d.chatTemplate(), tokenizer)
                : () -> ChatTemplate.of(tokenizer, modelDir);
        DataSource data = d.cache()
                ? DataSource.cached(new TokenCache.Options(d.cacheDir() != null ? d.cacheDir() : TokenCache.defaultDir(),
                        d.tokenizeThreads() != null ? d.tokenizeThreads() : Runtime.getRuntime().availableProcessors(), err, terminal),
                        CachedDatasetReader.filesDigest(tokenizationFiles(modelDir, d.chatTemplate())))
                : DataSource.inMemory();
        this.train = data.read(d.train(), formats, tokenizer, template);
        LoadedDataset opened = null;
        try {
            opened = d.validation() == null ? null : data.read(d.validation(), formats, tokenizer, template);
            this.validation = opened;
            if (d.validationFraction() > 0) {
                this.split = ValidationSplit.of(train.rows(), train.documents(), d.validationFraction(), config.train().seed());
                this.trainRows = split.train();
                this.validationRows = split.validation();
            } else {
                this.split = null;
                this.trainRows = train.rows();
                this.validationRows = validation == null ? null : validation.rows();
            }
            TrainConfig.Train t = config.train();
            this.plan = config.data().packing()
                    ? new PackedPlan(trainRows, config.data().seqLen(), t.microBatchSize(), t.gradAccum(), t.epochs(), t.maxSteps(), config.data().shuffle(), t.seed())
                    : new PaddedPlan(new TrainingPlan(trainRows.size(), t.microBatchSize(), t.gradAccum(), t.epochs(), t.maxSteps(),
                            config.data().shuffle(), t.seed()), trainRows);
            this.schedule = new LrSchedule(t.schedule(), t.lr(), LrSchedule.warmup(t.warmupSteps(), t.warmupRatio(), plan.totalSteps()), plan.totalSteps());

            boolean fullResume = resumeFrom != null && config.lora() == null;
            ParameterStore params;
            DType fileType;
            if (fullResume || !config.randomInit()) {
                Path source = fullResume ? resumeFrom : modelDir;
                try (HfCheckpoint ck = HfCheckpoint.open(source)) {
                    if (!ck.config().equals(modelConfig) && !fullResume) throw new IllegalStateException("config changed while reading");
                    fileType = fileType(ck.weights(), modelConfig);
                    params = ParameterStore.load(modelConfig, ck.weights(), backend);
                }
                if (!fullResume && config.randomInit()) throw new IllegalStateException("unreachable");
            } else {
                double std = configJson.path("initializer_range").asDouble(0.02);
                params = ParameterStore.random(modelConfig, backend, t.seed(), std);
                fileType = modelConfig.torchDtype() != null ? modelConfig.torchDtype() : DType.F32;
            }
            this.modelFileType = fileType;
            this.model = new TransformerModel(modelConfig, params, backend);
            model.setRecompute(t.recompute());

            LoraConfig loraConfig = null;
            if (config.lora() != null) {
                Path init = resumeFrom != null ? resumeFrom : config.lora().init();
                try (LoraAdapter adapter = init == null ? null : LoraAdapter.open(init)) {
                    loraConfig = loraConfig(config, adapter);
                    LoraAdapters.attach(model, loraConfig, adapter, t.seed());
                }
            }
            this.lora = loraConfig;
            if (dp != null) dp.attach(model, backend, t.beta1(), t.beta2(), t.adamEps(), t.weightDecay(), t.maxGradNorm());
            this.optimizer = new AdamW(backend, dp == null ? params.trainable() : dp.optimizerShare(params.trainable()), t.beta1(), t.beta2(), t.adamEps(), t.weightDecay(), t.maxGradNorm());
        } catch (IOException | RuntimeException | Error e) {
            train.close(); // a run that cannot start unmaps its rows
            if (opened != null) opened.close();
            throw e;
        }
    }

    /** The files the tokenizer and the chat template come from (those that exist count in the cache key). */
    private static List<Path> tokenizationFiles(Path modelDir, Path chatTemplate) {
        List<Path> files = new java.util.ArrayList<>(List.of(modelDir.resolve("tokenizer.json"), modelDir.resolve("tokenizer_config.json"),
                modelDir.resolve("chat_template.jinja")));
        if (chatTemplate != null) files.add(chatTemplate);
        return files;
    }

    /**
     * The adapter's own r, alpha and target modules when starting from one (what it was trained with),
     * with the config's dropout; else the config's.
     */
    private static LoraConfig loraConfig(TrainConfig config, LoraAdapter adapter) {
        TrainConfig.Lora l = config.lora();
        if (adapter == null) return LoraConfig.of(l.r(), l.alpha(), l.targetModules(), l.dropout(), config.model().toString());
        LoraConfig a = adapter.config();
        return new LoraConfig(a.r(), a.loraAlpha(), a.targetModules(), a.targetModulesRegex(), l.dropout(), a.useRslora(),
                a.baseModelNameOrPath(), a.taskType(), a.rankPattern(), a.alphaPattern());
    }

    private static DType parseDtype(String s) {
        return switch (s) {
            case "bf16" -> DType.BF16;
            case "f32" -> DType.F32;
            default -> throw new InvalidInputException("dtype must be bf16 or f32, got " + s);
        };
    }

    /** The dtype the checkpoint's weights are stored in (its embedding's), which the fine-tuned files keep. */
    private static DType fileType(CheckpointWeights w, ModelConfig c) {
        String embed = HfModules.of(c).embedTokens().weight();
        return w.info(embed).dtype().dtype();
    }

    private static int padTokenId(TrainConfig config, ModelConfig c) {
        Integer p = config.data().padTokenId();
        if (p == null) p = c.padTokenId();
        if (p == null && c.eosTokenIds() != null && !c.eosTokenIds().isEmpty()) p = c.eosTokenIds().get(0);
        if (p == null) p = 0;
        if (p < 0 || p >= c.vocabSize()) {
            throw new InvalidInputException("data.pad_token_id " + p + " is outside the vocabulary [0, " + c.vocabSize() + ")");
        }
        return p;
    }

    /** Bytes per trainable parameter: its value, its f32 gradient, and the optimizer's state. */
    double bytesPerTrainableParameter() {
        long n = 0, bytes = 0;
        for (var p : model.parameters().trainable()) {
            n += p.value().numel();
            bytes += p.value().byteSize();
        }
        bytes += gradientBytesAtPeak() + optimizerStateBytes();
        return n == 0 ? 0 : (double) bytes / n;
    }

    /**
     * The f32 gradients that exist at once: every trainable parameter's, or with train.optimizer_in_backward
     * the largest group the backward finishes at a time (each group's are freed once applied) — plus, with a
     * tied head, the embedding's, which the loss's backward starts and the embedding's finishes last.
     */
    long gradientBytesAtPeak() {
        if (!config.train().optimizerInBackward()) {
            return model.parameters().trainable().stream().mapToLong(p -> 4L * p.value().numel()).sum();
        }
        List<List<org.cce4j.transformer.model.Parameter>> order = model.gradientOrder();
        long most = 0;
        for (int g = 0; g < order.size(); g++) {
            if (modelConfig.tieWordEmbeddings() && g == order.size() - 1) continue;
            most = Math.max(most, order.get(g).stream().filter(org.cce4j.transformer.model.Parameter::trainable).mapToLong(p -> 4L * p.value().numel()).sum());
        }
        if (modelConfig.tieWordEmbeddings()) {
            most += order.get(order.size() - 1).stream().filter(org.cce4j.transformer.model.Parameter::trainable).mapToLong(p -> 4L * p.value().numel()).sum();
        }
        return most;
    }

    /** This rank's optimizer state: the session's AdamW's, or ZeRO-1's shards. */
    long optimizerStateBytes() {
        return optimizer.stateBytes() + (dp == null ? 0 : dp.stateBytes());
    }

    long trainableParameters() {
        return model.parameters().trainable().stream().mapToLong(p -> p.value().numel()).sum();
    }

    long allParameters() {
        return model.parameters().all().stream().mapToLong(p -> p.value().numel()).sum();
    }

    List<String> describe() {
        return List.of(device.device() + " (" + device.reason() + "), " + backend.computeDType().shortName(),
                modelConfig.family() + " " + allParameters() + " parameters, " + trainableParameters() + " trainable"
                        + (lora != null ? " (LoRA r " + lora.r() + " on " + lora.targetModules() + ")" : " (full fine-tuning)"));
    }

    @Override
    public void close() {
        if (dp != null) dp.close();
        optimizer.close();
        model.close();
        train.close();
        if (validation != null) validation.close();
    }
}
