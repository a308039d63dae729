package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.core.bench.LossBenchmarkResult;
import org.cce4j.core.loss.CceImpl;
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
public final class BenchLossCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--n", required = true, description = "Tokens N.")
    int n;

    @Option(names = "--d", required = true, description = "Hidden size D.")
    int d;

    @Option(names = "--v", required = true, description = "Vocabulary size V.")
    int v;

    @Option(names = "--dtype", defaultValue = "f32", converter = Converters.DTypeConverter.class, paramLabel = "f32|bf16|f16",
            description = "Input dtype (default: ${DEFAULT-VALUE}).")
    DType dtype;

    @Option(names = "--impl", defaultValue = "cce", split = ",", converter = Converters.Impl.class,
            paramLabel = "cce|cce-exact|baseline", description = "Implementations, comma-separated (default: ${DEFAULT-VALUE}).")
    List<CceImpl> impls;

    @Option(names = "--softcap", defaultValue = "0", paramLabel = "S", description = "Logit softcap (default: none).")
    float softcap;

    @Option(names = "--iters", defaultValue = "10", paramLabel = "K", description = "Timed iterations; the median is reported (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--json", description = "Print one JSON line per measurement.")
    boolean json;

    @Override
    public Integer call() {
        if (n <= 0 || d <= 0 || v <= 0 || iters <= 0) {
            throw new InvalidInputException("--n, --d, --v and --iters must be positive");
        }
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new InvalidInputException("--dtype must be f32, bf16 or f16, got " + dtype.shortName());
        }
        if ((long) n * d > Integer.MAX_VALUE - 8 || (long) v * d > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException("N×D and V×D must each stay below 2^31 elements for the benchmark's input generator");
        }
        PrintWriter out = spec.commandLine().getOut();
        Device device = common.chooseDevice(spec.commandLine().getErr()).device();
        for (CceImpl impl : impls) {
            LossBenchmarkResult r = LossBenchmarks.run(impl, device, n, d, v, dtype, softcap, iters);
            if (json) {
                out.println(r.toJson());
            } else {
                out.printf(Locale.ROOT, "%-9s %-6s N=%d D=%d V=%d %s%s: forward %.2f ms, forward+backward %.2f ms, extra memory %.1f MB, loss %.5f%n",
                        r.impl(), r.device(), n, d, v, r.dtype(), softcap > 0 ? " softcap " + softcap : "",
                        r.forwardMs(), r.forwardBackwardMs(), r.extraMemoryMB(), r.loss());
            }
            out.flush();
        }
        return 0;
    }
}
