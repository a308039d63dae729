package org.cce4j.trainer.compare;

import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A convergence comparison: the same config trained once per (variant, seed), one run after another on
 * one device, into {@code OUT/<variant>-seed<seed>/} (each a `train` run folder). For a seed every variant
 * starts from the same weights (the checkpoint's, or the same seeded random init) and sees the same data
 * order, so the runs differ only in the loss. A finished run (final/ exists) is not redone when the
 * comparison is started again; an interrupted one resumes from its newest checkpoint. The report is
 * {@link ComparisonReport}'s.
 */
public final class Comparison {
    /** One run of the comparison. */
    public record Run(Variant variant, long seed, Path folder) {}

    private Comparison() {}

    /** The runs, in the order they are made: seed by seed, every variant for a seed. */
    public static List<Run> plan(Path output, List<Variant> variants, List<Long> seeds) {
        List<Run> runs = new ArrayList<>();
        for (long seed : seeds) for (Variant v : variants) runs.add(new Run(v, seed, output.resolve(v.runName(seed))));
        return runs;
    }

    /** Makes every run that is not finished; returns the plan. */
    public static List<Run> run(Path config, List<String> overrides, Path output, List<Variant> variants, List<Long> seeds,
                                Trainer.Options options, PrintStream err) throws IOException {
        List<Run> runs = plan(output, variants, seeds);
        int i = 0;
        for (Run r : runs) {
            i++;
            if (Files.isDirectory(r.folder().resolve(RunFolder.FINAL))) {
                err.println("compare: " + r.folder().getFileName() + " is finished (" + i + "/" + runs.size() + "), not redone");
                continue;
            }
            boolean resume = Files.isRegularFile(r.folder().resolve(RunFolder.CONFIG));
            err.println("compare: " + (resume ? "resuming " : "training ") + r.folder().getFileName() + " (" + i + "/" + runs.size() + ")");
            List<String> sets = new ArrayList<>(overrides);
            sets.addAll(r.variant().overrides());
            sets.add("train.seed=" + r.seed());
            sets.add("output=" + r.folder().toAbsolutePath());
            TrainConfig c = TrainConfig.read(config, sets);
            Trainer.run(c, options.withResume(resume).withOverwrite(false));
        }
        return runs;
    }
}
