package org.cce4j.examples;

import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.train.Trainer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A training run started from Java rather than the command line: the config read (with overrides), the
 * run, and its result — the same code path as {@code ./cce4j train}. docs/training.md describes the
 * config and the run folder.
 * <pre>
 *   ./cce4j example TrainFromJava --config run.yaml [--set train.lr=1e-4]
 * </pre>
 */
public final class TrainFromJava {
    static final String USAGE = """
            usage: ./cce4j example TrainFromJava --config FILE [--set KEY=VALUE]
              runs the training config FILE (docs/training.md) through the Trainer API and prints how it ended;
              --set overrides one key, e.g. --set train.max_steps=10.
            """;

    private TrainFromJava() {}

    public static void main(String[] args) throws Exception {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of("config", "set"), Set.of(), 0);
        if (a.helpRequested()) return;
        String file = a.string("config", null);
        if (file == null) throw new org.cce4j.core.InvalidInputException("--config FILE is required (see --help)");
        List<String> overrides = new ArrayList<>();
        String set = a.string("set", null);
        if (set != null) overrides.add(set);

        TrainConfig config = TrainConfig.read(Path.of(file), overrides);
        Trainer.Result r = Trainer.run(config, Trainer.Options.defaults());
        System.out.printf("%d of %d steps, last loss %.4f%s; run folder %s%n", r.steps(), r.totalSteps(), r.lastLoss(),
                r.lastEvalLoss() == null ? "" : String.format(", last eval loss %.4f", r.lastEvalLoss()), r.runFolder());
    }
}
