package org.cce4j.examples;

import org.cce4j.core.bench.CpuLossBenchmark;
import org.cce4j.core.bench.FmaPeak;
import org.cce4j.core.bench.LossBenchmarkResult;
import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.DType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The CPU benchmark of issue 2: GFLOP/s of the loss's matrix products (forward 2NVD; forward+backward
 * 8NVD for cce, whose backward recomputes the logits, 6NVD for the baseline) against this machine's
 * measured FMA peak on all cores, and working memory against the materialized baseline, at
 * (N=2048, D=512, V=32768) and (N=512, D=256, V=256000).
 * <pre>
 *   ./cce4j example CpuCceBenchmark [ITERS]
 * </pre>
 */
public final class CpuCceBenchmark {
    static final String USAGE = """
            usage: ./cce4j example CpuCceBenchmark [ITERS]
              GFLOP/s of the CPU loss against this machine's FMA peak, and its memory against the baseline,
              at (N=2048, D=512, V=32768) and (N=512, D=256, V=256000); ITERS timed iterations (default 5).
            """;

    private CpuCceBenchmark() {}

    public static void main(String[] args) {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of(), Set.of(), 1);
        if (a.helpRequested()) return;
        int iters = a.positional(0, "ITERS", "5", ExampleArgs::positive);
        var kernels = CpuKernelSelector.best();
        double peak = FmaPeak.gflops(kernels);
        System.out.printf(Locale.ROOT, "kernels: %s, threads: %d, measured FMA peak: %.1f GFLOP/s%n",
                kernels.description(), CpuParallel.threads(), peak);
        int[][] shapes = {{2048, 512, 32768}, {512, 256, 256000}};
        List<String> table = new ArrayList<>();
        table.add(String.format(Locale.ROOT, "%-10s %5s %4s %7s | %9s %7s %6s | %9s %7s %6s | %10s",
                "impl", "N", "D", "V", "fwd ms", "GFLOP/s", "%peak", "f+b ms", "GFLOP/s", "%peak", "memory MB"));
        for (int[] s : shapes) {
            for (CceImpl impl : CceImpl.values()) {
                LossBenchmarkResult r = CpuLossBenchmark.run(impl, s[0], s[1], s[2], DType.F32, 0f, iters);
                System.out.println(r.toJson());
                double fwdFlops = r.forwardFlops();
                double bothFlops = fwdFlops * (impl == CceImpl.BASELINE ? 3 : 4);
                double g1 = fwdFlops / r.forwardMs() / 1e6, g2 = bothFlops / r.forwardBackwardMs() / 1e6;
                table.add(String.format(Locale.ROOT, "%-10s %5d %4d %7d | %9.1f %7.1f %5.0f%% | %9.1f %7.1f %5.0f%% | %10.1f",
                        impl.cliName(), s[0], s[1], s[2], r.forwardMs(), g1, 100 * g1 / peak,
                        r.forwardBackwardMs(), g2, 100 * g2 / peak, r.extraMemoryMB()));
            }
        }
        table.forEach(System.out::println);
    }
}
