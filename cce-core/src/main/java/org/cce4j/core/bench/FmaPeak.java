package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuKernels;
import org.cce4j.core.cpu.CpuParallel;

import java.util.concurrent.atomic.DoubleAdder;

/**
 * Measures this machine's f32 FMA peak as the kernels see it: every pool thread runs the kernels'
 * FMA probe at once for about a second; the best of three rounds, in GFLOP/s.
 */
public final class FmaPeak {
    private FmaPeak() {}

    public static double gflops(CpuKernels kernels) {
        // many short calls first, so that the JIT compiles the probe as a whole method (a single
        // long call would run in on-stack-replacement code, which may box the vectors)
        CpuParallel.forEach(CpuParallel.threads(), t -> {
            for (int i = 0; i < 300; i++) kernels.fmaProbe(100_000);
        });
        double best = 0;
        for (int round = 0; round < 3; round++) {
            DoubleAdder flops = new DoubleAdder();
            long t0 = System.nanoTime();
            CpuParallel.forEach(CpuParallel.threads(), t -> {
                for (int i = 0; i < 25; i++) flops.add(kernels.fmaProbe(2_000_000));
            });
            double seconds = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, flops.sum() / seconds / 1e9);
        }
        return best;
    }
}
