package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.bench.BenchmarkInputs;
import org.cce4j.core.bench.InputKind;
import org.cce4j.core.bench.InputStatistics;
import org.cce4j.core.bench.LossBenchmarkInputs;
import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.core.bench.LossBenchmarkResult;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.bench.GradientError;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code bench-loss}: times forward and forward+backward of one or more implementations and measures their
 * working memory, on inputs drawn once (--inputs paper, as the CCE paper's benchmark draws them; uniform;
 * trained: see core.bench.InputKind) or read from a safetensors file, and prints the statistics of those
 * inputs' softmax (what the filtered backward can skip depends on them). One JSON line per measurement with
 * --json, the statistics inside each under "inputs"; a readable line otherwise, after one line of statistics.
 */
@Command(name = "bench-loss", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmarks the loss: median forward and forward+backward time and extra memory.",
            "Inputs (--inputs): paper (default; C, E ~ N(0,1)/D^0.25, the first N rows of C equal to E, uniform targets),",
            "uniform (tiny logits: a random-init head), trained (entropy ~2.2 nats, top-1 ~0.45, Zipf-skewed, targets",
            "drawn from the softmax) or a safetensors file with E, C, targets; their softmax statistics are printed."})
public final class BenchLossCommand implements Callable<Integer>, MemoryHint {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--n", converter = Converters.PositiveInt.class, description = "Tokens N (required unless --inputs is a file).")
    Integer n;

    @Option(names = "--d", converter = Converters.PositiveInt.class, description = "Hidden size D (required unless --inputs is a file).")
    Integer d;

    @Option(names = "--v", converter = Converters.PositiveInt.class, description = "Vocabulary size V (required unless --inputs is a file).")
    Integer v;

    @Option(names = "--dtype", converter = Converters.DTypeConverter.class, paramLabel = "f32|bf16|f16",
            description = "Input dtype (default: f32; with --inputs FILE, the file's).")
    DType dtype;

    @Option(names = "--inputs", defaultValue = "paper", paramLabel = "paper|uniform|trained|FILE",
            description = "The inputs' distribution, or a safetensors file with E [N,D], C [V,D], targets [N] (default: ${DEFAULT-VALUE}).")
    String inputs;

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

    @Option(names = "--filter-eps", paramLabel = "EPS", description = "cce: the gradient filter's threshold (default: the input type's epsilon / 32, 2^-12 for bf16; 0 = off).")
    Float filterEps;

    @Option(names = "--grad-error", description = "Also measure each implementation's dE and dC against cce-exact's (relative L2 error; needs host memory for two gradients).")
    boolean gradError;

    @Option(names = "--iters", defaultValue = "10", paramLabel = "K", converter = Converters.PositiveInt.class, description = "Timed iterations; the median is reported (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--json", description = "Print one JSON line per measurement.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        if (dtype != null && dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new InvalidInputException("--dtype must be f32, bf16 or f16, got " + dtype.shortName());
        }
        boolean fromFile = !InputKind.isKind(inputs);
        if (fromFile && !inputs.endsWith(".safetensors")) InputKind.parse(inputs); // neither a kind nor a .safetensors file
        if (!fromFile) {
            if (n == null || d == null || v == null) {
                throw new InvalidInputException("--n, --d and --v are required with --inputs " + inputs.toLowerCase(Locale.ROOT));
            }
            requireGeneratorSizes(n, d, v);
        }
        PrintWriter out = spec.commandLine().getOut();
        CceOptions options;
        try {
            options = CceOptions.defaults().withSoftcap(softcap);
        } catch (IllegalArgumentException e) { // "softcap must be a finite number >= 0, got -1.0", under the option's name
            throw new InvalidInputException("--softcap" + String.valueOf(e.getMessage()).replaceFirst("^softcap", ""));
        }
        options = options.withAccuracy(accuracy).withFilterEGrad(!noFilterEGrad).withFilterCGrad(!noFilterCGrad);
        if (filterEps != null) {
            if (!(filterEps >= 0) || Float.isInfinite(filterEps)) throw new InvalidInputException("--filter-eps must be a number >= 0, got " + filterEps);
            options = options.withFilterEps(filterEps);
        }
        CceInputs host = fromFile ? fileInputs(Path.of(inputs)) : null;
        Device device;
        try {
            device = common.chooseDevice(spec.commandLine().getErr()).device();
        } catch (RuntimeException e) {
            if (host != null) LossBenchmarkInputs.close(host);
            throw e;
        }
        try (BenchmarkInputs in = fromFile
                ? LossBenchmarks.prepare(device, host, inputs, softcap)
                : LossBenchmarks.prepare(device, InputKind.parse(inputs), n, d, v, dtype == null ? DType.F32 : dtype, softcap)) {
            InputStatistics stats = in.statistics();
            if (!json) {
                out.println(stats.toText());
                out.flush();
            }
            GradientError reference = gradError ? GradientError.reference(in, options) : null;
            for (CceImpl impl : impls) {
                LossBenchmarkResult r = LossBenchmarks.run(impl, in, options, iters);
                double[] err = reference == null ? null : reference.of(impl, in, options);
                if (json) {
                    String line = r.toJson(stats);
                    out.println(err == null ? line : line.substring(0, line.length() - 1) + "," + GradientError.json(err) + "}");
                } else {
                    out.printf(Locale.ROOT, "%-9s %-6s N=%d D=%d V=%d %s%s%s: forward %.2f ms, forward+backward %.2f ms, extra memory %.1f MB, loss %.5f%s%n",
                            r.impl(), r.device(), r.n(), r.d(), r.v(), r.dtype(), softcap > 0 ? " softcap " + softcap : "", variant(),
                            r.forwardMs(), r.forwardBackwardMs(), r.extraMemoryMB(), r.loss(),
                            err == null ? "" : String.format(Locale.ROOT, ", gradient error vs cce-exact dE %.2e dC %.2e", err[0], err[1]));
                }
                out.flush();
            }
        }
        return 0;
    }

    /** The file's inputs, checked against --n, --d and --v where they are given. */
    private CceInputs fileInputs(Path file) throws IOException {
        CceInputs in = BenchInputFile.read(file, dtype);
        long[] actual = {in.embeddings().dim(0), in.embeddings().dim(1), in.classifier().dim(0)};
        Integer[] asked = {n, d, v};
        String[] names = {"--n", "--d", "--v"};
        for (int i = 0; i < 3; i++) {
            if (asked[i] != null && asked[i] != actual[i]) {
                LossBenchmarkInputs.close(in);
                throw new InvalidInputException(names[i] + " " + asked[i] + " does not match --inputs " + file + " ("
                        + BenchInputFile.shapeOf(in) + ")");
            }
        }
        return in;
    }

    /** The options that change the work, as the readable line names them. */
    private String variant() {
        return (accuracy ? " accuracy" : "") + (noFilterEGrad ? " no-filter-e-grad" : "") + (noFilterCGrad ? " no-filter-c-grad" : "")
                + (filterEps != null ? " filter-eps " + filterEps : "");
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
