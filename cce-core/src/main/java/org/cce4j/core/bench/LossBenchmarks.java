package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

/**
 * The loss benchmark's public entry point, for the command line and the example programs: one call
 * whatever the device (wall clock on the CPU, CUDA events on a GPU), and a description of the CPU
 * setup a result was measured with.
 */
public final class LossBenchmarks {
    private LossBenchmarks() {}

    /** Times {@code impl} at N×D×V in {@code dtype}: the median of {@code iters} forwards and forward+backwards. */
    public static LossBenchmarkResult run(CceImpl impl, Device device, int n, int d, int v, DType dtype, float softcap, int iters) {
        return run(impl, device, n, d, v, dtype, CceOptions.defaults().withSoftcap(softcap), iters);
    }

    /** The same with any loss options (softcap, accuracy, the gradients' filters, ...). */
    public static LossBenchmarkResult run(CceImpl impl, Device device, int n, int d, int v, DType dtype, CceOptions options, int iters) {
        if (!device.isCpu()) {
            return CudaLossBenchmark.run(impl, device, n, d, v, dtype, options, iters, 3);
        }
        return CpuLossBenchmark.run(impl, n, d, v, dtype, options, iters);
    }

    /** "T threads, kernels: K": the CPU loss's thread count and the kernels the JVM selected (SIMD or scalar). */
    public static String cpuSetup() {
        return CpuParallel.threads() + " threads, kernels: " + CpuKernelSelector.best().description();
    }
}
