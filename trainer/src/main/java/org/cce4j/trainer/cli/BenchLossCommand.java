package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.core.bench.LossBenchmarkResult;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code bench-loss}: times forward and forward+backward of one or more implementations on inputs
 * drawn as the CCE paper's benchmark draws them, and measures their working memory. One JSON line
 * per measurement with --json, a readable line otherwise.
 */
@Command(name = "bench-loss", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmarks the loss: median forward and forward+backward time and extra memory.",
            "Inputs as in the CCE paper: C, E ~ N(0,1)/D^0.25, the first N rows of C equal to E, uniform targets."})
public final class BenchLossCommand implements Callable<Integer>, MemoryHint {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--n", required = true, converter = Converters.PositiveInt.class, description = "Tokens N.")
    int n;

    @Option(names = "--d", required = true, converter = Converters.PositiveInt.class, description = "Hidden size D.")
    int d;

    @Option(names = "--v", required = true, converter = Converters.PositiveInt.class, description = "Vocabulary size V.")
    int v;

    @Option(names = "--dtype", defaultValue = "f32", converter = Converters.DTypeConverter.class, paramLabel = "f32|bf16|f16",
            description = "Input dtype (default: ${DEFAULT-VALUE}).")
    DType dtype;

    @Option(names = "--impl", defaultValue = "cce", split = ",", converter = Converters.Impl.class,
            paramLabel = "cce|cce-exact|baseline", description = "Implementations, comma-separated (default: ${DEFAULT-VALUE}).")
    List<CceImpl> impls;

    @Option(names = "--softcap", defaultValue = "0", paramLabel = "S", description = "Logit softcap (default: none).")
    float softcap;

    @Option(names = "--accuracy", description = "Time the forward that also finds each row's argmax (token accuracy).")
    boolean accuracy;

    @Option(names = "--no-filter-e-grad", description = "cce: compute dE from every block, none skipped.")
    boolean noFilterEGrad;

    @Option(names = "--no-filter-c-grad", description = "cce: compute dC from every block (the CCE paper's full C).")
    boolean noFilterCGrad;

    @Option(names = "--iters", defaultValue = "10", paramLabel = "K", converter = Converters.PositiveInt.class, description = "Timed iterations; the median is reported (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--json", description = "Print one JSON line per measurement.")
    boolean json;

    @Override
    public Integer call() {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new InvalidInputException("--dtype must be f32, bf16 or f16, got " + dtype.shortName());
        }
        requireGeneratorSizes(n, d, v);
        PrintWriter out = spec.commandLine().getOut();
        CceOptions options;
        try {
            options = CceOptions.defaults().withSoftcap(softcap);
        } catch (IllegalArgumentException e) { // "softcap must be a finite number >= 0, got -1.0", under the option's name
            throw new InvalidInputException("--softcap" + String.valueOf(e.getMessage()).replaceFirst("^softcap", ""));
        }
        options = options.withAccuracy(accuracy).withFilterEGrad(!noFilterEGrad).withFilterCGrad(!noFilterCGrad);
        Device device = common.chooseDevice(spec.commandLine().getErr()).device();
        for (CceImpl impl : impls) {
            LossBenchmarkResult r = LossBenchmarks.run(impl, device, n, d, v, dtype, options, iters);
            if (json) {
                out.println(r.toJson());
            } else {
                out.printf(Locale.ROOT, "%-9s %-6s N=%d D=%d V=%d %s%s%s: forward %.2f ms, forward+backward %.2f ms, extra memory %.1f MB, loss %.5f%n",
                        r.impl(), r.device(), n, d, v, r.dtype(), softcap > 0 ? " softcap " + softcap : "", variant(),
                        r.forwardMs(), r.forwardBackwardMs(), r.extraMemoryMB(), r.loss());
            }
            out.flush();
        }
        return 0;
    }

    /** The options that change the work, as the readable line names them. */
    private String variant() {
        return (accuracy ? " accuracy" : "") + (noFilterEGrad ? " no-filter-e-grad" : "") + (noFilterCGrad ? " no-filter-c-grad" : "");
    }

    /** The benchmark inputs are drawn into Java arrays: --n × --d and --v × --d must each fit one. */
    static void requireGeneratorSizes(int n, int d, int v) {
        if ((long) n * d > Integer.MAX_VALUE - 8) throw new InvalidInputException(tooLarge("--n", n, d));
        if ((long) v * d > Integer.MAX_VALUE - 8) throw new InvalidInputException(tooLarge("--v", v, d));
    }

    private static String tooLarge(String option, long size, long d) {
        return String.format(Locale.ROOT, "%s × --d = %,d elements, more than the input generator's 2^31 - 9: lower %s or --d",
                option, size * d, option);
    }

    @Override
    public String toLowerMemory() {
        return "--n, --v or --d";
    }
}
