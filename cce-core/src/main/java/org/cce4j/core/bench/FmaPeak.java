package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuKernels;
import org.cce4j.core.cpu.CpuParallel;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * Measures this machine's f32 FMA peak as the kernels see it: every pool thread runs the kernels'
 * FMA probe at once, and each thread's rate is its flops over its own CPU time, so that other
 * processes on the machine lower nothing but the wall clock; the peak is the sum over threads,
 * best of three rounds, in GFLOP/s.
 */
public final class FmaPeak {
    private FmaPeak() {}

    public static double gflops(CpuKernels kernels) {
        // many short calls first, so that the JIT compiles the probe as a whole method (a single
        // long call would run in on-stack-replacement code, which may box the vectors)
        CpuParallel.forEach(CpuParallel.threads(), t -> {
            for (int i = 0; i < 300; i++) kernels.fmaProbe(100_000);
        });
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        double best = 0;
        for (int round = 0; round < 3; round++) {
            DoubleAdder rate = new DoubleAdder();
            CpuParallel.forEach(CpuParallel.threads(), t -> {
                long c0 = cpu.getCurrentThreadCpuTime();
                double flops = 0;
                for (int i = 0; i < 25; i++) flops += kernels.fmaProbe(2_000_000);
                rate.add(flops / ((cpu.getCurrentThreadCpuTime() - c0) / 1e9) / 1e9);
            });
            best = Math.max(best, rate.sum());
        }
        return best;
    }
}
