package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.compare.Comparison;
import org.cce4j.trainer.compare.ComparisonReport;
import org.cce4j.trainer.compare.MemoryProbe;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.compare.Variant;
import org.cce4j.trainer.train.StopSignals;
import org.cce4j.trainer.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code compare}: a convergence experiment — the same training config once per (loss variant, seed),
 * then a report of how the variants' losses and evaluations compare (docs/convergence.md).
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains one config once per (loss variant, seed) and reports how they converge:",
            "OUT/<variant>-seed<seed>/ run folders, then OUT/summary.json, report.md, loss.png, eval.png, diff.png.",
            "Finished runs are not redone when the comparison is started again."})
public final class CompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The training config every run uses (its output is replaced).")
    Path config;

    @Option(names = "--impls", paramLabel = "LIST", split = ",", description = "Loss variants: baseline, cce, cce-exact, cce-full-c (default: cce,baseline).")
    List<String> impls = List.of("cce", "baseline");

    @Option(names = "--seeds", paramLabel = "LIST", split = ",", description = "Seeds (train.seed of each run; default: 0).")
    List<Long> seeds = List.of(0L);

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The comparison's folder.")
    Path output;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides a config key in every run (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", description = "Where to compute (overrides the config's device).")
    String device;

    @Option(names = "--probe-memory", description = {"After training, measure each variant's memory: the loss alone at the step's",
            "shapes and, on a GPU, the largest micro-batch whose step fits (OUT/memory-<variant>.json)."})
    boolean probeMemory;

    @Option(names = "--probe-limit", paramLabel = "N", converter = Converters.PositiveInt.class, defaultValue = "1024",
            description = "The largest micro-batch --probe-memory tries (default: ${DEFAULT-VALUE}).")
    int probeLimit;

    @Option(names = "--reference", paramLabel = "NAME=DIR", description = {"A run folder of another trainer (its metrics.jsonl), e.g. PyTorch's",
            "from the same weights and data order, drawn beside the variants (repeatable)."})
    List<String> references = new ArrayList<>();

    @Option(names = "--report-only", description = "Write the report from the run folders already there; train nothing.")
    boolean reportOnly;

    @Option(names = "--verbose", description = "Show stack traces of errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        List<Variant> variants = new ArrayList<>();
        for (String name : new LinkedHashSet<>(impls)) variants.add(Variant.of(name));
        if (variants.isEmpty()) throw new InvalidInputException("--impls: give at least one variant");
        if (new LinkedHashSet<>(seeds).size() != seeds.size()) throw new InvalidInputException("--seeds: a seed is listed twice");
        if (Files.exists(output) && !Files.isDirectory(output)) throw new InvalidInputException("--output " + output + " is a file, not a folder");
        Files.createDirectories(output);
        List<String> sets = new ArrayList<>(overrides);
        if (device != null) sets.add("device=" + device);
        StopSignals signals = StopSignals.install();
        Trainer.Options options = Trainer.Options.defaults().withSignals(signals).withVerbose(verbose);
        List<ComparisonReport.Reference> refs = new ArrayList<>();
        for (String r : references) {
            int eq = r.indexOf('=');
            if (eq <= 0 || eq == r.length() - 1) throw new InvalidInputException("--reference " + r + ": give NAME=DIR");
            Path dir = Path.of(r.substring(eq + 1));
            if (!Files.isRegularFile(dir.resolve(RunFolder.METRICS))) {
                throw new InvalidInputException("--reference " + r + ": " + dir.resolve(RunFolder.METRICS) + " does not exist");
            }
            refs.add(new ComparisonReport.Reference(r.substring(0, eq), dir));
        }
        List<Comparison.Run> runs = Comparison.plan(output, variants, seeds);
        if (reportOnly) {
            for (Comparison.Run r : runs) {
                if (!Files.isRegularFile(r.folder().resolve(RunFolder.METRICS))) {
                    throw new InvalidInputException("--report-only: " + r.folder().resolve(RunFolder.METRICS) + " does not exist");
                }
            }
        } else {
            for (Comparison.Run r : runs) {
                Comparison.run(config, sets, output, List.of(r.variant()), List.of(r.seed()), options, System.err);
                if (signals.requested() != null) return StopSignals.exitStatus(signals.requested());
            }
            if (probeMemory) {
                for (Variant v : variants) {
                    List<String> vs = new ArrayList<>(sets);
                    vs.addAll(v.overrides());
                    vs.add("train.seed=" + seeds.get(0));
                    vs.add("output=" + output.resolve(v.name() + "-probe").toAbsolutePath());
                    MemoryProbe.measure(output, v, TrainConfig.read(config, vs), probeLimit, System.err);
                }
            }
        }
        String command = "cce4j compare --config " + config + " --impls " + String.join(",", impls) + " --seeds "
                + String.join(",", seeds.stream().map(String::valueOf).toList()) + " --output " + output
                + (sets.isEmpty() ? "" : " --set " + String.join(" --set ", sets));
        ComparisonReport.write(output, runs, command, refs);
        spec.commandLine().getOut().println("compare: " + runs.size() + " runs; " + output.resolve("report.md"));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
