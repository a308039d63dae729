package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.hf.CheckpointWeights;
import org.cce4j.checkpoints.hf.GenerationConfig;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.TensorInfo;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Shapes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code inspect PATH}: what a .safetensors file, a Hugging Face model folder or a PEFT adapter
 * folder holds — every tensor (name, dtype, shape), the metadata and, for a model, a summary of its
 * config. Opening validates everything first, so a malformed input prints one line and exits 2
 * without a listing.
 */
@Command(name = "inspect",
        description = {"Lists the tensors, metadata and config of a safetensors file, model folder or adapter.",
                "PATH: a .safetensors file, a Hugging Face model folder (config.json + model.safetensors or shards)",
                "or a PEFT adapter folder; for each tensor its name, dtype and shape."},
        mixinStandardHelpOptions = true)
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH", description = "a .safetensors file, a model folder or an adapter folder")
    Path path;

    @Option(names = "--verbose", description = "show stack traces of errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(HfCheckpoint.CONFIG))) {
                model(out);
            } else if (Files.isRegularFile(path.resolve(LoraAdapter.CONFIG))) {
                adapter(out);
            } else {
                throw new InvalidInputException(path + ": a folder without config.json or adapter_config.json (neither a model nor an adapter)");
            }
        } else if (!Files.exists(path)) {
            throw new InvalidInputException(path + ": no such file or folder");
        } else {
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                out.printf("%s: safetensors, %d tensors, %s bytes of data, header %d bytes%n",
                        path, f.tensors().size(), group(f.fileSize() - f.dataStart()), f.dataStart() - 8);
                metadata(out, f.metadata());
                tensors(out, f.tensors(), null);
            }
        }
        out.flush();
        return 0;
    }

    private void model(PrintWriter out) throws Exception {
        try (HfCheckpoint ck = HfCheckpoint.open(path)) {
            CheckpointWeights w = ck.weights();
            out.printf("%s: Hugging Face model folder%n", path);
            out.println("config: " + ck.config().summary().replace("\n", "\n  "));
            ck.generationConfig().ifPresent(g -> out.println("generation_config: " + generation(g)));
            out.printf("weights: %d tensors, %s bytes in %s%n", w.names().size(), group(w.totalBytes()),
                    w.sharded() ? w.files().size() + " shards (" + CheckpointWeights.INDEX_FILE + ")" : CheckpointWeights.SINGLE_FILE);
            if (!w.indexMetadata().isEmpty()) out.println("index metadata: " + w.indexMetadata());
            metadata(out, w.files().getFirst().metadata());
            List<TensorInfo> infos = new ArrayList<>();
            for (String n : w.names()) infos.add(w.info(n));
            tensors(out, infos, w.sharded() ? w : null);
        }
    }

    private void adapter(PrintWriter out) throws Exception {
        try (LoraAdapter a = LoraAdapter.open(path)) {
            var c = a.config();
            out.printf("%s: PEFT LoRA adapter, r %d, lora_alpha %s, target_modules %s, %d modules%n", path, c.r(), c.loraAlpha(),
                    c.targetModules() != null ? c.targetModules() : c.targetModulesRegex(), a.modules().size());
            if (c.baseModelNameOrPath() != null) out.println("base model: " + c.baseModelNameOrPath());
            try (SafetensorsFile f = SafetensorsFile.open(path.resolve(LoraAdapter.WEIGHTS))) {
                metadata(out, f.metadata());
                tensors(out, f.tensors(), null);
            }
        }
    }

    private static String generation(GenerationConfig g) {
        StringBuilder sb = new StringBuilder();
        if (g.bosTokenId() != null) sb.append("bos ").append(g.bosTokenId()).append(", ");
        if (!g.eosTokenIds().isEmpty()) sb.append("eos ").append(g.eosTokenIds()).append(", ");
        if (g.doSample() != null) sb.append("do_sample ").append(g.doSample()).append(", ");
        if (g.temperature() != null) sb.append("temperature ").append(g.temperature()).append(", ");
        if (g.topP() != null) sb.append("top_p ").append(g.topP()).append(", ");
        if (g.topK() != null) sb.append("top_k ").append(g.topK()).append(", ");
        if (g.maxLength() != null) sb.append("max_length ").append(g.maxLength()).append(", ");
        return sb.isEmpty() ? "(defaults)" : sb.substring(0, sb.length() - 2);
    }

    private static void metadata(PrintWriter out, Map<String, String> metadata) {
        if (metadata.isEmpty()) return;
        out.println("metadata:");
        metadata.forEach((k, v) -> out.println("  " + k + " = " + (v.length() > 300 ? v.substring(0, 300) + "... (" + v.length() + " chars)" : v)));
    }

    private static void tensors(PrintWriter out, List<TensorInfo> infos, CheckpointWeights shards) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparing(TensorInfo::name, InspectCommand::natural));
        int width = sorted.stream().mapToInt(t -> t.name().length()).max().orElse(0);
        out.println("tensors:");
        for (TensorInfo t : sorted) {
            out.printf("  %-" + Math.max(1, width) + "s  %-7s %s%s%n", t.name(), t.dtype(), Shapes.toString(t.shape()),
                    shards != null ? "  " + shards.fileOf(t.name()).path().getFileName() : "");
        }
    }

    /** "layers.2" before "layers.10". */
    static int natural(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i);
            char y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int si = i;
                int sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) i++;
                while (j < b.length() && Character.isDigit(b.charAt(j))) j++;
                String na = a.substring(si, i).replaceFirst("^0+(?=.)", "");
                String nb = b.substring(sj, j).replaceFirst("^0+(?=.)", "");
                int c = na.length() != nb.length() ? Integer.compare(na.length(), nb.length()) : na.compareTo(nb);
                if (c != 0) return c;
            } else {
                if (x != y) return Character.compare(x, y);
                i++;
                j++;
            }
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    private static String group(long n) {
        return String.format("%,d", n);
    }
}
