package org.cce4j.core.bench;

import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.HostMemory;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Arrays;
import java.util.List;

/**
 * Times one CPU loss implementation: warm-up (at least 3 runs and 2 s), then the median of {@code iters} forwards and of
 * {@code iters} forward+backwards by wall clock; then one forward+backward after a full GC for the
 * memory, counted as host tensors (HostMemory) plus the Java heap's peak growth (the JVM's memory
 * pools), minus the returned gradients.
 */
public final class CpuLossBenchmark {
    private CpuLossBenchmark() {}

    public static LossBenchmarkResult run(CceImpl impl, int n, int d, int v, DType dtype, float softcap, int iters) {
        return run(impl, n, d, v, dtype, CceOptions.defaults().withSoftcap(softcap), iters);
    }

    public static LossBenchmarkResult run(CceImpl impl, int n, int d, int v, DType dtype, CceOptions options, int iters) {
        CceInputs in = LossBenchmarkInputs.create(n, d, v, dtype, 42);
        try {
            return run(impl, in, options, iters);
        } finally {
            LossBenchmarkInputs.close(in);
        }
    }

    /** Times {@code impl} on host inputs the caller owns. */
    public static LossBenchmarkResult run(CceImpl impl, CceInputs in, CceOptions options, int iters) {
        LinearCrossEntropy loss = LinearCrossEntropy.create(impl, Device.CPU);
        float softcap = options.softcap();
        int d = Math.toIntExact(in.embeddings().dim(-1));
        int n = Math.toIntExact(in.embeddings().numel() / d);
        int v = Math.toIntExact(in.classifier().dim(0));
        DType dtype = in.embeddings().dtype();
        float lossValue = 0;
        // warm-up until the JIT has compiled the hot loops: at least 3 runs and 2 seconds
        long warmStart = System.nanoTime();
        for (int i = 0; i < 3 || System.nanoTime() - warmStart < 2_000_000_000L; i++) {
            lossValue = forwardBackward(loss, in, options);
        }
        double[] fwd = new double[iters];
        double[] both = new double[iters];
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            try (CceForward f = loss.forward(in, options)) {
                fwd[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            forwardBackward(loss, in, options);
            both[i] = (System.nanoTime() - t0) / 1e6;
        }
        double extraMB = measureWorkingMemory(loss, in, options, n, d, v) / 1e6;
        return new LossBenchmarkResult(impl.cliName(), "cpu", n, d, v, dtype.shortName(), softcap, iters,
                median(fwd), median(both), extraMB, lossValue, CpuKernelSelector.best().description(),
                options.accuracy(), options.filterEGrad(), options.filterCGrad());
    }

    private static float forwardBackward(LinearCrossEntropy loss, CceInputs in, CceOptions options) {
        try (CceForward f = loss.forward(in, options); CceGradients g = loss.backward(f, 1f)) {
            return f.lossValue();
        }
    }

    private static long measureWorkingMemory(LinearCrossEntropy loss, CceInputs in, CceOptions options, int n, int d, int v) {
        Once once = once(loss, in, options);
        once.gradients().close();
        return once.extraBytes();
    }

    /** One measured forward+backward: its times, its working memory and the gradients (the caller closes them). */
    public record Once(double forwardMs, double backwardMs, long extraBytes, float loss, CceGradients gradients) {}

    /**
     * Runs forward and backward once after a full GC and measures time and working memory: host
     * tensors (HostMemory) plus the Java heap's peak growth (its memory pools), minus the gradients.
     */
    public static Once once(LinearCrossEntropy loss, CceInputs in, CceOptions options) {
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        System.gc();
        long heapBefore = heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long hostBefore = HostMemory.bytesInUse();
        HostMemory.resetPeak();
        long t0 = System.nanoTime();
        CceGradients g;
        float value;
        long t1;
        try (CceForward f = loss.forward(in, options)) {
            t1 = System.nanoTime();
            g = loss.backward(f, 1f);
            value = f.lossValue();
        }
        long t2 = System.nanoTime();
        long heapPeak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        long gradients = g.dEmbeddings().byteSize() + g.dClassifier().byteSize();
        long extra = Math.max(0, heapPeak - heapBefore) + (HostMemory.peakBytes() - hostBefore) - gradients;
        return new Once((t1 - t0) / 1e6, (t2 - t1) / 1e6, extra, value, g);
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
