package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.distributed.DataParallel;
import org.cce4j.trainer.distributed.LauncherWatch;
import org.cce4j.trainer.distributed.RankLauncher;
import org.cce4j.trainer.train.StopSignals;
import org.cce4j.trainer.train.Trainer;
import org.cce4j.trainer.train.TrainingHalted;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code train}: a fine-tuning (or pretraining) run from a YAML config, into a run folder
 * (docs/training.md). Exit status: 0 finished, 2 a user error (one line), 3 stopped on a non-finite
 * loss or gradient, 130 / 143 stopped by SIGINT / SIGTERM after writing a checkpoint.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tunes (or pretrains) a model from a YAML config: full or LoRA, CPU or GPU, resumable.",
            "Writes the run folder: config.yaml, metrics.jsonl, loss.png, checkpoints/step-N/, final/.",
            "Exit status: 0 done, 2 user error, 3 stopped on a non-finite loss or gradient, 130/143 stopped by SIGINT/SIGTERM."})
public final class TrainCommand implements Callable<Integer> {
    /** Exit status of a run that stopped itself on a NaN or infinite loss or gradient. */
    public static final int HALTED = 3;

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "The run's YAML config (docs/training.md lists every key).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides a config key, e.g. --set train.lr=2e-5 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--resume", paramLabel = "RUN", description = "Continues the run in this folder from its newest checkpoint (reads RUN/config.yaml).")
    Path resume;

    @Option(names = "--overwrite", description = "Starts over in an output folder that holds a run (its files are removed).")
    boolean overwrite;

    @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", description = "Where to compute (overrides the config's device).")
    String device;

    @Option(names = "--verbose", description = "Name the first non-finite tensor if the run stops on one; show stack traces of errors.")
    boolean verbose;

    @Option(names = "--gpus", paramLabel = "N", description = {"Data parallel on this node: N processes, one per GPU (cuda:0 .. cuda:N-1), "
            + "or N CPU ranks with --device cpu; train.grad_accum must be a multiple of N. Under torchrun or srun leave it out."})
    Integer gpus;

    @Override
    public Integer call() throws Exception {
        if (config == null && resume == null) throw new InvalidInputException("give --config FILE (a new run) or --resume RUN (a run to continue)");
        if (config != null && resume != null) throw new InvalidInputException("--config and --resume exclude each other: a resumed run reads RUN/config.yaml");
        if (resume != null && overwrite) throw new InvalidInputException("--resume and --overwrite exclude each other");
        List<String> sets = new ArrayList<>(overrides);
        if (device != null) sets.add("device=" + device);
        Path file = config != null ? config : resume.resolve(RunFolder.CONFIG);
        if (resume != null && !java.nio.file.Files.isRegularFile(file)) {
            throw new InvalidInputException("--resume " + resume + ": not a run folder (no " + RunFolder.CONFIG + ")");
        }
        TrainConfig c = TrainConfig.read(file, sets);
        if (resume != null && !c.output().toAbsolutePath().normalize().equals(resume.toAbsolutePath().normalize())) {
            // a run folder that was moved: it is still the run to continue
            sets.add("output=" + resume.toAbsolutePath());
            c = TrainConfig.read(file, sets);
        }
        if (gpus != null && gpus < 1) throw new InvalidInputException("--gpus must be >= 1, got " + gpus);
        if (gpus != null && gpus > 1) {
            DataParallel.checkGradAccum(c.train().gradAccum(), gpus);
            return RankLauncher.launch(gpus, rankArguments(), System.getenv(), spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        LauncherWatch.start(System.getenv(), System.err);   // a rank of train --gpus ends with its launcher
        StopSignals signals = StopSignals.install();
        Trainer.Options options = Trainer.Options.defaults().withResume(resume != null).withOverwrite(overwrite)
                .withVerbose(verbose).withSignals(signals);
        try {
            Trainer.Result r = Trainer.run(c, options);
            return r.stoppedBy() == null ? 0 : StopSignals.exitStatus(r.stoppedBy());
        } catch (TrainingHalted h) {
            spec.commandLine().getErr().println("train: stopped: " + h.getMessage());
            spec.commandLine().getErr().flush();
            return HALTED;
        }
    }

    /** This command's options for the ranks --gpus starts (paths made absolute; --gpus itself left out). */
    private List<String> rankArguments() {
        List<String> a = new ArrayList<>();
        if (config != null) a.addAll(List.of("--config", config.toAbsolutePath().toString()));
        for (String s : overrides) a.addAll(List.of("--set", s));
        if (resume != null) a.addAll(List.of("--resume", resume.toAbsolutePath().toString()));
        if (overwrite) a.add("--overwrite");
        if (device != null) a.addAll(List.of("--device", device));
        if (verbose) a.add("--verbose");
        return a;
    }
}
