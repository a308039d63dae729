package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.InvalidInputException;
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

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code forward}: runs a Hugging Face checkpoint on a batch of token ids and writes what
 * transformers would give for {@code model(input_ids, labels=input_ids)}: the logits, the mean
 * next-token loss and, with --grads, the gradient of that loss for every parameter, under its
 * Hugging Face name. The loss and the gradients go through the training path (Cut Cross-Entropy);
 * the logits are materialized separately, for the output only.
 */
@Command(name = "forward", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs a model on input_ids [B,T] and writes logits [B,T,V], loss and (--grads) grad.<name> for every parameter.",
            "Other tensors of the input file are ignored."})
public final class ForwardCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model folder (config.json, *.safetensors)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "safetensors file with input_ids [B,T] (int64 or int32)")
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
        Device device = common.chooseDevice(spec.commandLine().getErr()).device();
        Backend backend = Backends.create(device, dtype);
        int[] ids;
        int b, t;
        try (SafetensorsFile in = SafetensorsFile.open(input)) {
            Tensor inputIds = in.tensor("input_ids");
            if (inputIds.rank() != 2 || (inputIds.dtype() != DType.I64 && inputIds.dtype() != DType.I32)) {
                throw new InvalidInputException(input + ": input_ids must be an int64 (or int32) tensor of shape [B, T], got " + inputIds);
            }
            if (inputIds.numel() == 0) throw new InvalidInputException(input + ": input_ids is empty");
            b = (int) inputIds.dim(0);
            t = (int) inputIds.dim(1);
            ids = new int[b * t];
            for (int i = 0; i < ids.length; i++) {
                long id = inputIds.getLong(i);
                if (id < 0 || id > Integer.MAX_VALUE) throw new InvalidInputException(input + ": input_ids holds " + id + " at position " + i);
                ids[i] = (int) id;
            }
        }
        try (HfCheckpoint ckpt = HfCheckpoint.open(model);
             TransformerModel m = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend)) {
            int vocab = ckpt.config().vocabSize();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] >= vocab) throw new InvalidInputException(input + ": token id " + ids[i] + " at position " + i + " is outside [0, " + vocab + ")");
            }
            Batch batch = Batch.causal(b, t, ids);
            List<Tensor> toClose = new ArrayList<>();
            try (TransformerModel.Pass pass = m.forward(batch)) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                Tensor logits;
                try (Tensor onDevice = m.logits(pass)) {
                    logits = backend.downloadF32(onDevice);
                }
                toClose.add(logits);
                out.put("logits", logits.reshape(b, t, vocab));
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
                SafetensorsWriter.write(output, Map.of("producer", "cce4j forward", "model", model.toString()), entries);
            } finally {
                toClose.forEach(Tensor::close);
            }
        }
        return 0;
    }
}
