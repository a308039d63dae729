package org.cce4j.trainer.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.HfWeightsWriter;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.TransformerModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The model files of a checkpoint or of final/, in the layouts the Python stack loads: full
 * fine-tuning writes a Hugging Face folder ({@code save_pretrained}'s sharding, the base's config.json
 * with its dtype set to the files', the base's tokenizer and generation files copied), LoRA writes a
 * PEFT adapter folder (f32, as PEFT saves adapters).
 */
public final class ModelFiles {
    /** Files of the base folder that travel with a fine-tuned model. */
    private static final List<String> COMPANIONS = List.of("generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "chat_template.jinja", "tokenizer.model");
    private static final long SHARD_BYTES = 5L << 30;

    private ModelFiles() {}

    /** Every non-adapter parameter of the model, in state_dict order, as a Hugging Face folder of {@code fileType} tensors. */
    public static void writeFull(Path folder, TransformerModel model, ObjectNode configJson, DType fileType, Path baseFolder) throws IOException {
        Backend be = model.backend();
        List<TensorEntry> entries = new ArrayList<>();
        List<Tensor> hosts = new ArrayList<>();
        try {
            for (Parameter p : model.parameters().all()) {
                if (p.name().contains(".lora_")) continue;
                Tensor host = be.downloadF32(p.value());
                hosts.add(host);
                entries.add(TensorEntry.of(p.name(), host, fileType));
            }
            HfWeightsWriter.write(folder, entries, SHARD_BYTES);
        } finally {
            hosts.forEach(Tensor::close);
        }
        ObjectNode cfg = configJson.deepCopy();
        String dtypeName = torchName(fileType);
        if (cfg.has("torch_dtype")) cfg.put("torch_dtype", dtypeName);
        if (cfg.has("dtype")) cfg.put("dtype", dtypeName);
        Json.writePythonStyle(folder.resolve(HfCheckpoint.CONFIG), cfg);
        if (baseFolder != null) copyCompanions(baseFolder, folder);
    }

    /** Copies the base folder's tokenizer and generation files (those it has) into a model folder. */
    public static void copyCompanions(Path baseFolder, Path folder) throws IOException {
        for (String f : COMPANIONS) {
            Path src = baseFolder.resolve(f);
            if (Files.isRegularFile(src)) Files.copy(src, folder.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The model's adapters in PEFT's layout. */
    public static void writeAdapter(Path folder, TransformerModel model, LoraConfig config) throws IOException {
        Map<String, LoraAdapter.Pair> pairs = LoraAdapters.export(model);
        try {
            LoraAdapter.save(folder, config, pairs, DType.F32);
        } finally {
            for (LoraAdapter.Pair p : pairs.values()) {
                p.a().close();
                p.b().close();
            }
        }
    }

    /** transformers' name of a dtype (config.json's torch_dtype). */
    static String torchName(DType t) {
        return switch (t) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> t.shortName().toLowerCase(Locale.ROOT);
        };
    }
}
