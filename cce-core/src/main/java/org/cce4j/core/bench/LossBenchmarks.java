package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.device.Transfers;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

/**
 * The loss benchmark's public entry point, for the command line and the example programs: one call
 * whatever the device (wall clock on the CPU, CUDA events on a GPU), and a description of the CPU
 * setup a result was measured with. {@link #prepare} makes the inputs once (drawn by {@link InputKind},
 * or given, e.g. read from a file) and measures their statistics; {@link #run(CceImpl, BenchmarkInputs,
 * CceOptions, int)} times one implementation on them. Seeds: the paper's inputs keep the ones their
 * published numbers were measured with (42 on the CPU, 1234 drawn on a GPU); uniform and trained are
 * drawn on the host with seed 1234 on either device, so a CPU and a GPU run see the same values.
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

    /** The seed of the uniform and trained inputs, on either device. */
    public static final long SEED = 1234;

    /** Inputs of {@code kind} on {@code device}, with their statistics (softcap as the loss will apply it; 0 for none). */
    public static BenchmarkInputs prepare(Device device, InputKind kind, int n, int d, int v, DType dtype, float softcap) {
        if (kind == InputKind.PAPER && !device.isCpu()) {
            CudaDevice dev = CudaDevice.get(device);
            CceInputs in = CudaLossBenchmark.paperInputs(dev, n, d, v, dtype, 1234);
            InputStatistics stats;
            try (Tensor e = Transfers.toHost(in.embeddings()); Tensor c = Transfers.toHost(in.classifier())) {
                stats = InputStatistics.measure(kind.cliName(), CceInputs.of(e, c, in.targets()), softcap,
                        InputStatistics.defaultRows(n));
            }
            return new BenchmarkInputs(device, in, stats);
        }
        long seed = kind == InputKind.PAPER ? 42 : SEED;
        return prepare(device, LossBenchmarkInputs.create(kind, n, d, v, dtype, seed), kind.cliName(), softcap);
    }

    /**
     * Given host inputs (E [N, D], C [V, D], targets [N]) on {@code device}, with their statistics; {@code label}
     * names them in the statistics. The benchmark owns {@code host} from here on (closed, or uploaded and closed).
     */
    public static BenchmarkInputs prepare(Device device, CceInputs host, String label, float softcap) {
        InputStatistics stats = InputStatistics.measure(label, host, softcap, InputStatistics.defaultRows(host.targets().numel()));
        if (device.isCpu()) return new BenchmarkInputs(device, host, stats);
        // E and C go to the device; the targets stay on the host, as the paper's inputs have them (the CUDA loss
        // uploads them after queueing its kernel; device targets would be downloaded in every timed forward)
        Tensor e = null;
        try {
            e = Transfers.to(host.embeddings(), device);
            Tensor c = Transfers.to(host.classifier(), device);
            return new BenchmarkInputs(device, CceInputs.of(e, c, host.targets()), stats);
        } catch (RuntimeException | Error x) {
            if (e != null) e.close();
            host.targets().close();
            throw x;
        } finally {
            host.embeddings().close();
            host.classifier().close();
        }
    }

    /** Times {@code impl} on prepared inputs: the median of {@code iters} forwards and forward+backwards. */
    public static LossBenchmarkResult run(CceImpl impl, BenchmarkInputs in, CceOptions options, int iters) {
        if (!in.device().isCpu()) return CudaLossBenchmark.run(impl, in.device(), in.inputs(), options, iters, 3);
        return CpuLossBenchmark.run(impl, in.inputs(), options, iters);
    }

    /** "T threads, kernels: K": the CPU loss's thread count and the kernels the JVM selected (SIMD or scalar). */
    public static String cpuSetup() {
        return CpuParallel.threads() + " threads, kernels: " + CpuKernelSelector.best().description();
    }
}
