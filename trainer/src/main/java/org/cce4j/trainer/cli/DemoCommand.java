package org.cce4j.trainer.cli;

import org.cce4j.core.bench.CpuLossBenchmark;
import org.cce4j.core.bench.LossBenchmarkInputs;
import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code demo}: the README's first command. For now it shows what Cut Cross-Entropy buys on the CPU
 * at a real vocabulary size (Llama 3's 128,256 entries): the same loss and gradients as the
 * materialized baseline, in a small, fixed amount of memory.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Cut Cross-Entropy against the materialized baseline on the CPU: loss, time and memory.")
public final class DemoCommand implements Callable<Integer>, MemoryHint {
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
        out.printf(Locale.ROOT, "cce4j demo: Cut Cross-Entropy vs the materialized baseline, on the CPU%n");
        out.printf(Locale.ROOT, "N = %d tokens, D = %d, V = %d, f32; %s%n%n", n, d, v, LossBenchmarks.cpuSetup());
        out.printf(Locale.ROOT, "%-9s %12s %12s %12s %16s%n", "impl", "loss", "forward", "backward", "extra memory");
        out.flush();
        CceInputs in = LossBenchmarkInputs.create(n, d, v, DType.F32, 42);
        CpuLossBenchmark.Once[] runs = new CpuLossBenchmark.Once[2];
        CceImpl[] impls = {CceImpl.CCE, CceImpl.BASELINE};
        try {
            for (int i = 0; i < impls.length; i++) {
                LinearCrossEntropy loss = LinearCrossEntropy.create(impls[i], Device.CPU);
                CpuLossBenchmark.once(loss, in, CceOptions.defaults()).gradients().close(); // warm-up
                CpuLossBenchmark.Once r = runs[i] = CpuLossBenchmark.once(loss, in, CceOptions.defaults());
                out.printf(Locale.ROOT, "%-9s %12.6f %9.0f ms %9.0f ms %13.1f MB%n", impls[i].cliName(), r.loss(), r.forwardMs(),
                        r.backwardMs(), r.extraBytes() / 1e6);
                out.flush();
            }
            out.printf(Locale.ROOT, "%nthe baseline's logits alone take N×V×4 bytes = %.1f MB; CCE keeps one 128×128 tile per thread.%n",
                    4.0 * n * v / 1e6);
            out.printf(Locale.ROOT, "same answer: loss %.7f vs %.7f; relative difference of dE %.1e, of dC %.1e%n",
                    runs[0].loss(), runs[1].loss(),
                    relativeDifference(runs[0].gradients().dEmbeddings().toFloatArray(), runs[1].gradients().dEmbeddings().toFloatArray()),
                    relativeDifference(runs[0].gradients().dClassifier().toFloatArray(), runs[1].gradients().dClassifier().toFloatArray()));
        } finally {
            for (CpuLossBenchmark.Once r : runs) if (r != null) r.gradients().close();
            LossBenchmarkInputs.close(in);
        }
        return 0;
    }

    @Override
    public String toLowerMemory() {
        return "--n or --v";
    }

    private static double relativeDifference(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (double) (a[i] - b[i]) * (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }
}
