package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.hf.CheckpointWeights;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code forward}: runs a Hugging Face checkpoint on a batch of token ids and writes what
 * transformers gives for {@code model(input_ids, attention_mask=..., labels=...)}: the logits, the
 * mean next-token loss and, with --grads, the gradient of that loss for every parameter, under its
 * Hugging Face name. {@code labels} (-100: not predicted) and {@code attention_mask} (0: padding, which
 * no token attends to) are read from the input file when it has them; without labels the labels are
 * the input ids, as in {@code model(input_ids, labels=input_ids)}. The loss and the gradients go
 * through the training path (Cut Cross-Entropy); the logits are materialized separately, for the
 * output only. The loss is also printed, in one line (on stderr when the tensors go to stdout).
 */
@Command(name = "forward", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs a model on input_ids [B,T] and writes logits [B,T,V], loss and (--grads) grad.<name> for every parameter.",
            "Optional in the input: labels [B,T] (-100: not predicted; default: input_ids) and attention_mask [B,T] (0: padding).",
            "Other tensors of the input file are ignored. Prints the loss."})
public final class ForwardCommand implements Callable<Integer>, MemoryHint {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model folder (config.json, *.safetensors)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE",
            description = "safetensors file with input_ids [B,T] (int64 or int32) and optionally labels and attention_mask")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "safetensors file to write")
    Path output;

    @Option(names = "--grads", description = "Also write grad.<parameter name> for every trainable parameter.")
    boolean grads;

    @Option(names = "--dtype", converter = Converters.DTypeConverter.class, paramLabel = "f32|bf16",
            description = "Compute dtype (default: f32 on the CPU, bf16 on CUDA).")
    DType dtype;

    @Override
    public Integer call() throws Exception {
        InputFiles.requireFolder("--model", model);
        InputFiles.requireFile("--input", input);
        CommandOutput out = CommandOutput.binary("--output", output, "safetensors").notOneOf(Map.of("--input", input));
        Device device = common.chooseDevice(spec.commandLine().getErr()).device();
        Backend backend = Backends.create(device, dtype);
        Batch batch;
        try (SafetensorsFile in = SafetensorsFile.open(input)) {
            batch = ForwardBatch.read(in, input);
        }
        try (HfCheckpoint ckpt = HfCheckpoint.open(model)) {
            out.notOneOf(checkpointFiles(ckpt));
            int vocab = ckpt.config().vocabSize();
            ForwardBatch.requireIdsBelow(batch, vocab, input);
            try (TransformerModel m = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend)) {
                float loss = run(m, backend, batch, vocab, out.path());
                // the loss line goes to stdout, unless the tensors just did
                PrintWriter say = out.isStandardOutput() ? spec.commandLine().getErr() : spec.commandLine().getOut();
                say.printf(Locale.ROOT, "loss %.6f (mean over %d predicted tokens)%n", loss, ForwardBatch.predicted(batch));
                say.flush();
            }
        }
        return 0;
    }

    /** The forward (and backward with --grads) of one batch, written to {@code file}; returns the loss. */
    private float run(TransformerModel m, Backend backend, Batch batch, int vocab, Path file) throws Exception {
        List<Tensor> toClose = new ArrayList<>();
        try (TransformerModel.Pass pass = m.forward(batch)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            Tensor logits;
            try (Tensor onDevice = m.logits(pass)) {
                logits = backend.downloadF32(onDevice);
            }
            toClose.add(logits);
            out.put("logits", logits.reshape(batch.batch(), batch.seqLen(), vocab));
            float loss = m.loss(pass, CceImpl.CCE_EXACT, grads);
            Tensor lossTensor = Tensor.scalar(loss);
            toClose.add(lossTensor);
            out.put("loss", lossTensor);
            if (grads) {
                for (Parameter p : m.parameters().trainable()) {
                    Tensor g = p.existingGrad() != null ? backend.downloadF32(p.existingGrad()) : Tensor.zeros(DType.F32, p.value().shape());
                    toClose.add(g);
                    out.put("grad." + p.name(), g);
                }
            }
            List<TensorEntry> entries = new ArrayList<>();
            out.forEach((name, tensor) -> entries.add(TensorEntry.of(name, tensor)));
            SafetensorsWriter.write(file, Map.of("producer", "cce4j forward", "model", model.toString()), entries);
            return loss;
        } finally {
            toClose.forEach(Tensor::close);
        }
    }

    /** The files of the checkpoint, which --output must not name. */
    private Map<String, Path> checkpointFiles(HfCheckpoint ckpt) {
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("--model file", model.resolve(HfCheckpoint.CONFIG));
        files.put("--model index", model.resolve(CheckpointWeights.INDEX_FILE));
        for (SafetensorsFile f : ckpt.weights().files()) files.put("--model weights " + f.path().getFileName(), f.path());
        return files;
    }

    @Override
    public String toLowerMemory() {
        return "the batch (B or T of input_ids)";
    }
}
