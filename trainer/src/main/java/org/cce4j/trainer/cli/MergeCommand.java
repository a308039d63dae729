package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.HfWeightsWriter;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.checkpoint.ModelFiles;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.transformer.lora.LoraMerge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code merge}: folds a PEFT adapter into its base model and writes a Hugging Face folder in the
 * base's dtype (what {@code merge_and_unload().save_pretrained()} gives), so the fine-tuned model
 * loads without peft. The output folder is written whole or not at all.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Folds a LoRA adapter into its base: W' = W + (alpha/r)·B·A; writes a Hugging Face folder in the base's dtype."})
public final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "The base model (a Hugging Face folder).")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "A PEFT adapter folder (e.g. a run's final/).")
    Path adapter;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The merged model's folder (must not exist yet).")
    Path output;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(output)) throw new InvalidInputException("--output " + output + " exists already; choose a new folder");
        try (HfCheckpoint base = HfCheckpoint.open(model); LoraAdapter lora = LoraAdapter.open(adapter)) {
            HfModules modules = HfModules.of(base.config());
            Set<String> linears = new HashSet<>();
            modules.layerLinears().forEach(l -> linears.add(l.path()));
            for (String m : lora.modules()) {
                if (!linears.contains(m)) throw new InvalidInputException("--adapter " + adapter + ": it adapts " + m + ", which the base model has no projection for");
            }
            List<TensorEntry> entries = new ArrayList<>();
            List<Tensor> owned = new ArrayList<>();
            int merged = 0;
            try {
                for (String name : modules.parameterShapes().keySet()) {
                    Tensor w = base.weights().tensor(name);
                    String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
                    if (module != null && lora.modules().contains(module)) {
                        Tensor m = LoraMerge.merged(w, lora.pair(module), lora.config().scaling(module));
                        owned.add(m);
                        entries.add(TensorEntry.of(name, m));
                        merged++;
                    } else {
                        entries.add(TensorEntry.of(name, w));
                    }
                }
                RunFolder.writeFolder(output, dir -> {
                    HfWeightsWriter.write(dir, entries, 5L << 30);
                    ObjectNode cfg = base.configJson();
                    Json.writePythonStyle(dir.resolve(HfCheckpoint.CONFIG), cfg);
                    ModelFiles.copyCompanions(model, dir);
                });
            } finally {
                owned.forEach(Tensor::close);
            }
            spec.commandLine().getOut().printf("merged %d adapted projections into %s (%s)%n", merged, output,
                    entries.isEmpty() ? "" : entries.get(0).dtype());
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
