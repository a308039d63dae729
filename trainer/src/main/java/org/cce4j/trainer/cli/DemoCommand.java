package org.cce4j.trainer.cli;

import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.trainer.demo.DemoPipeline;
import org.cce4j.trainer.demo.DemoPlan;
import org.cce4j.trainer.demo.LossComparison;
import org.cce4j.trainer.train.StopSignals;
import org.cce4j.trainer.train.Trainer;
import org.cce4j.trainer.train.TrainingHalted;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code demo}: the README's first command. A real run in minutes on a laptop's CPU (a GPU when there is
 * one): a tokenizer trained and a small Llama pretrained on Moby Dick with CCE, a LoRA chat fine-tune
 * on the Debian FAQ, samples before and after, and what CCE saved ({@link DemoPipeline}; the texts are
 * fetched at build time into .data/demo/). {@code demo loss} is the loss alone: CCE against the
 * materialized baseline at Llama 3's vocabulary, the same loss and gradients in a small, fixed amount of memory.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false, subcommands = DemoCommand.Loss.class,
        description = {"Pretrains a small Llama on Moby Dick with Cut Cross-Entropy, LoRA-tunes it to",
            "chat on the Debian FAQ, and shows samples before and after and what CCE saved",
            "(minutes on 2 CPU cores; --quick: under a minute). Run folders: OUTPUT/pretrain,",
            "OUTPUT/chat. 'demo loss': the loss alone against the materialized baseline."})
public final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--quick", description = "Toy sizes (a few chapters, a tiny model, a dozen steps): the whole pipeline in under a minute.")
    boolean quick;

    @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", description = "Where to train (default: cuda when one is usable, else cpu).")
    String device;

    @Option(names = "--output", paramLabel = "DIR", description = "Where the demo writes (default: ${DEFAULT-VALUE}).")
    Path output = Path.of("runs", "demo");

    @Option(names = "--data", paramLabel = "DIR", description = "The fetched texts (default: .data/demo of the cce4j checkout; tools/fetch-demo-data.sh fetches them).")
    Path data;

    @Option(names = "--verbose", description = "Show stack traces of errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Trainer.Options train = Trainer.Options.defaults().withSignals(StopSignals.install()).withVerbose(verbose);
        try {
            DemoPipeline.Result r = DemoPipeline.run(new DemoPipeline.Options(quick ? DemoPlan.QUICK : DemoPlan.STANDARD,
                    data != null ? data : defaultData(), output, device, out, train));
            return r.stoppedBy() == null ? 0 : StopSignals.exitStatus(r.stoppedBy());
        } catch (TrainingHalted h) {
            spec.commandLine().getErr().println("demo: stopped: " + h.getMessage());
            spec.commandLine().getErr().flush();
            return TrainCommand.HALTED;
        }
    }

    /** .data/demo of the checkout the jar was built in (trainer/target/trainer.jar), else of the working folder. */
    static Path defaultData() {
        try {
            Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path checkout = jar.getParent() == null ? null : jar.getParent().getParent();
            if (checkout != null && checkout.getParent() != null) {
                Path d = checkout.getParent().resolve(".data").resolve("demo");
                if (Files.isDirectory(d)) return d;
            }
        } catch (URISyntaxException | RuntimeException e) {
            // no code source (an unusual class loader): the working folder's
        }
        return Path.of(".data", "demo");
    }

    /** {@code demo loss}: CCE against the materialized baseline on the CPU, at Llama 3's vocabulary by default. */
    @Command(name = "loss", mixinStandardHelpOptions = true,
            description = "Cut Cross-Entropy vs the materialized baseline on the CPU: loss, time and memory.")
    public static final class Loss implements Callable<Integer>, MemoryHint {
        @Spec
        CommandSpec spec;

        @Option(names = "--n", converter = Converters.PositiveInt.class, defaultValue = "1024", description = "Tokens (default: ${DEFAULT-VALUE}).")
        int n;

        @Option(names = "--d", converter = Converters.PositiveInt.class, defaultValue = "256", description = "Hidden size (default: ${DEFAULT-VALUE}).")
        int d;

        @Option(names = "--v", converter = Converters.PositiveInt.class, defaultValue = "128256", description = "Vocabulary size (default: ${DEFAULT-VALUE}, Llama 3).")
        int v;

        @Override
        public Integer call() {
            BenchLossCommand.requireGeneratorSizes(n, d, v);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "cce4j demo loss: Cut Cross-Entropy vs the materialized baseline, on the CPU%n");
            out.printf(Locale.ROOT, "N = %d tokens, D = %d, V = %d, f32; %s%n%n", n, d, v, LossBenchmarks.cpuSetup());
            out.printf(Locale.ROOT, "%-9s %12s %12s %12s %16s%n", "impl", "loss", "forward", "backward", "extra memory");
            out.flush();
            LossComparison.Result r = LossComparison.measure(n, d, v, true, (impl, once) -> {
                out.printf(Locale.ROOT, "%-9s %12.6f %9.0f ms %9.0f ms %13.1f MB%n", impl.cliName(), once.loss(), once.forwardMs(),
                        once.backwardMs(), once.extraBytes() / 1e6);
                out.flush();
            });
            out.printf(Locale.ROOT, "%nthe baseline's logits alone take N×V×4 bytes = %.1f MB; CCE keeps one 128×128 tile per thread.%n", r.logitsBytes() / 1e6);
            out.printf(Locale.ROOT, "same answer: loss %.7f vs %.7f; relative difference of dE %.1e, of dC %.1e%n",
                    r.cce().loss(), r.baseline().loss(), r.dEDifference(), r.dCDifference());
            return 0;
        }

        @Override
        public String toLowerMemory() {
            return "--n or --v";
        }
    }

}
