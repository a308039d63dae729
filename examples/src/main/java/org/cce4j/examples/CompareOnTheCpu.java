package org.cce4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.trainer.compare.Comparison;
import org.cce4j.trainer.compare.ComparisonReport;
import org.cce4j.trainer.compare.Variant;
import org.cce4j.trainer.demo.DemoData;
import org.cce4j.trainer.demo.DemoModel;
import org.cce4j.trainer.demo.DemoTokenizer;
import org.cce4j.trainer.train.Trainer;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A convergence comparison small enough for a CPU (about a minute on two cores): a byte-level BPE
 * tokenizer and a tiny Llama (hidden 64, 2 layers) from the demo's own builders, pretrained from scratch
 * on Moby Dick's first chapters once per loss variant and seed through the {@code compare} API, with
 * two later chapters as validation; then the report (docs/convergence.md explains its files). In f32 on
 * the CPU the filter threshold is far below what the step resolves, so cce and the baseline agree to
 * ~1e-6 at every step, and cce-full-c with them.
 * <pre>
 *   ./cce4j example CompareOnTheCpu [--data .data/demo] [--output runs/compare-cpu] [--steps 24] [--seeds 2]
 * </pre>
 */
public final class CompareOnTheCpu {
    static final String USAGE = """
            usage: ./cce4j example CompareOnTheCpu [--data DIR] [--output DIR] [--steps N] [--seeds N]
              trains a tiny Llama from scratch on Moby Dick (the demo's data, tools/fetch-demo-data.sh) once per
              loss variant (baseline, cce, cce-full-c) and seed 0..N-1 (default 2), N steps each (default 24),
              on the CPU, and writes the comparison's report, plots and summary.json into --output
              (default runs/compare-cpu).
            """;
    static final List<String> VARIANTS = List.of("baseline", "cce", "cce-full-c");

    private CompareOnTheCpu() {}

    public static void main(String[] args) throws Exception {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of("data", "output", "steps", "seeds"), Set.of(), 0);
        if (a.helpRequested()) return;
        Path data = Path.of(a.string("data", ".data/demo"));
        Path out = Path.of(a.string("output", "runs/compare-cpu"));
        int steps = a.positiveInt("steps", 24), seeds = a.positiveInt("seeds", 2);
        JsonNode summary = run(data, out, steps, seeds, System.err);
        for (String v : VARIANTS) {
            JsonNode s = summary.get(v);
            System.out.printf("%-10s final eval loss %.6f   mean |Δloss| to baseline %s%n", v, s.get("final_eval_loss").get("mean").asDouble(),
                    s.has("mean_abs_loss_diff_to_baseline") ? String.format("%.2e", s.get("mean_abs_loss_diff_to_baseline").asDouble()) : "—");
        }
        System.out.println("report: " + out.resolve("report.md"));
    }

    /** Builds the tokenizer, model folder, data and config under {@code out}, runs the comparison, returns summary.json. */
    static JsonNode run(Path dataDir, Path out, int steps, int seeds, PrintStream err) throws Exception {
        DemoData data = DemoData.read(dataDir);
        List<String> train = data.chapters().subList(0, 12), validation = data.chapters().subList(12, 14);
        Path model = out.resolve("model");
        Files.createDirectories(model);
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            DemoTokenizer.train(train, 512, model);
            Tokenizer tokenizer = Tokenizer.load(model);
            int eos = tokenizer.tokenToId(DemoTokenizer.EOS).orElseThrow(), end = tokenizer.tokenToId(DemoTokenizer.END).orElseThrow();
            DemoModel.of(DemoModel.Shape.QUICK, tokenizer.vocabSize(), 256).write(model, eos, end);
        }
        writeTexts(out.resolve("train.jsonl"), train);
        writeTexts(out.resolve("validation.jsonl"), validation);
        Path config = out.resolve("compare.yaml");
        AtomicFiles.writeString(config, """
                model: model
                init: random
                device: cpu
                output: run
                data:
                  train: train.jsonl
                  validation: validation.jsonl
                  format: text
                  packing: true
                  seq_len: 128
                  overflow: split
                  cache_dir: token-cache
                train:
                  max_steps: %d
                  micro_batch_size: 8
                  lr: 3.0e-3
                  warmup_steps: 2
                  weight_decay: 0.1
                save:
                  every_steps: 0
                eval:
                  every_steps: %d
                """.formatted(steps, Math.max(1, steps / 3)));
        List<Variant> variants = new ArrayList<>();
        for (String v : VARIANTS) variants.add(Variant.of(v));
        List<Long> seedList = new ArrayList<>();
        for (long s = 0; s < seeds; s++) seedList.add(s);
        Trainer.Options options = Trainer.Options.defaults().withErr(err, false);
        List<Comparison.Run> runs = Comparison.run(config, List.of(), out, variants, seedList, options, err);
        return ComparisonReport.write(out, runs, "./cce4j example CompareOnTheCpu --output " + out + " --steps " + steps + " --seeds " + seeds);
    }

    private static void writeTexts(Path file, List<String> texts) throws Exception {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (String t : texts) {
            ObjectNode o = json.createObjectNode().put("text", t);
            sb.append(json.writeValueAsString(o)).append('\n');
        }
        AtomicFiles.writeString(file, sb.toString());
    }
}
