package org.cce4j.core.bench;

import org.cce4j.core.cuda.KernelElements;
import org.cce4j.core.loss.cuda.CudaCutCrossEntropy;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaKernel;
import org.cce4j.core.cuda.DeviceAllocator;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The GPU loss benchmark, as the CCE paper measures it: E and C ~ N(0, 1)/D^0.25 drawn on the device,
 * the first N rows of C set equal to E, uniform random targets; CUDA events around the forward and
 * around forward+backward, the median of {@code iters} runs after {@code warmup} unrecorded ones.
 * Extra memory is the allocator's peak during one forward+backward, less what was in use before it
 * (the inputs) and less the gradients it returns (outputs, not working memory), in MB (10^6 bytes,
 * as {@link LossBenchmarkResult} reports it; PyTorch's max_memory_allocated figures are MiB).
 * <p>
 * The trainer's {@code bench-loss} calls {@link #run}; {@link LossBenchmarkResult#toJson()} is one JSON line.
 */
public final class CudaLossBenchmark {
    private CudaLossBenchmark() {}

    /** Paper-style inputs on {@code dev}: E [n, d], C [v, d] of {@code dtype}, C[:n] = E, and host targets. */
    public static CceInputs paperInputs(CudaDevice dev, int n, int d, int v, DType dtype, long seed) {
        Tensor e = dev.empty(dtype, n, d);
        Tensor c = dev.empty(dtype, v, d);
        float scale = (float) Math.pow(d, -0.25);
        CudaKernel fill = dev.module("random.cu", List.of(KernelElements.define(dtype))).kernel("fill_normal");
        fill.launch(KernelElements.ceilDiv((long) n * d, 256), 1, 256, 0, e.address(), (long) n * d, seed, scale);
        fill.launch(KernelElements.ceilDiv((long) v * d, 256), 1, 256, 0, c.address(), (long) v * d, seed + 1, scale);
        dev.copyDeviceToDevice(e.address(), c.address(), (long) Math.min(n, v) * d * dtype.byteSize());
        long[] targets = new long[n];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) targets[i] = rnd.nextInt(v);
        dev.synchronize("drawing the benchmark inputs");
        return CceInputs.of(e, c, Tensor.of(targets, n));
    }

    /** {@link #run(CceImpl, Device, int, int, int, DType, float, int, int)} with 3 warm-up runs. */
    public static LossBenchmarkResult run(CceImpl impl, Device device, int n, int d, int v, DType dtype, float softcap, int iters) {
        return run(impl, device, n, d, v, dtype, softcap, iters, 3);
    }

    public static LossBenchmarkResult run(CceImpl impl, Device device, int n, int d, int v, DType dtype, float softcap,
                                          int iters, int warmup) {
        return run(impl, device, n, d, v, dtype, CceOptions.defaults().withSoftcap(softcap), iters, warmup);
    }

    /** The same with any loss options (softcap, accuracy, the gradients' filters, ...). */
    public static LossBenchmarkResult run(CceImpl impl, Device device, int n, int d, int v, DType dtype, CceOptions o,
                                          int iters, int warmup) {
        CudaDevice dev = CudaDevice.get(device);
        CceInputs in = paperInputs(dev, n, d, v, dtype, 1234);
        try {
            return run(impl, device, in, o, iters, warmup);
        } finally {
            in.embeddings().close();
            in.classifier().close();
            in.targets().close();
            dev.allocator().releaseCache();
        }
    }

    /** Times {@code impl} on inputs already on {@code device} (the caller owns and closes them). */
    public static LossBenchmarkResult run(CceImpl impl, Device device, CceInputs in, CceOptions o, int iters, int warmup) {
        CudaDevice dev = CudaDevice.get(device);
        int d = Math.toIntExact(in.embeddings().dim(-1));
        int n = Math.toIntExact(in.embeddings().numel() / d);
        int v = Math.toIntExact(in.classifier().dim(0));
        DType dtype = in.embeddings().dtype();
        float softcap = o.softcap();
        LinearCrossEntropy loss = LinearCrossEntropy.create(impl, device);
        float lossValue = 0;
        for (int i = 0; i < warmup; i++) {
            try (CceForward f = loss.forward(in, o); CceGradients g = loss.backward(f, 1f)) {
                lossValue = f.lossValue();
            }
        }
        List<Float> fwd = new ArrayList<>(), both = new ArrayList<>();
        try (CudaDevice.Event start = dev.event(); CudaDevice.Event end = dev.event()) {
            for (int i = 0; i < iters; i++) {
                start.record();
                CceForward f = loss.forward(in, o);
                end.record();
                fwd.add(end.millisSince(start));
                f.close();
            }
            for (int i = 0; i < iters; i++) {
                start.record();
                try (CceForward f = loss.forward(in, o); CceGradients g = loss.backward(f, 1f)) {
                    end.record();
                    both.add(end.millisSince(start));
                }
            }
        }
        DeviceAllocator alloc = dev.allocator();
        dev.synchronize();
        long base = alloc.bytesInUse();
        alloc.resetPeak();
        long grads;
        try (CceForward f = loss.forward(in, o); CceGradients g = loss.backward(f, 1f)) {
            grads = DeviceAllocator.roundSize(g.dEmbeddings().byteSize()) + DeviceAllocator.roundSize(g.dClassifier().byteSize());
            lossValue = f.lossValue();
        }
        double extraMB = Math.max(0, alloc.peakBytes() - base - grads) / 1e6;
        String kernels = dev.name() + ", " + dev.architecture();
        if (loss instanceof CudaCutCrossEntropy cce) {
            kernels += ", backward " + backwardPath(cce) + "tiles " + cce.lastActiveTiles + "/" + cce.lastTotalTiles;
        } else {
            kernels += ", cuBLAS";
        }
        return new LossBenchmarkResult(impl.cliName(), device.toString(), n, d, v, dtype.shortName(), softcap, iters,
                median(fwd), median(both), extraMB, lossValue, kernels, o.accuracy(), o.filterEGrad(), o.filterCGrad());
    }

    /** Which path the last backward took: the entry lists (what they kept), the dense chunks, or the tiles. */
    private static String backwardPath(CudaCutCrossEntropy cce) {
        org.cce4j.core.loss.cuda.EntryListOutcome lists = cce.lastEntries;
        String s = "";
        if (lists != null) {
            s += String.format(java.util.Locale.ROOT, "entry lists (%.1f kept per row over %d rows%s), ", lists.keptPerRow(),
                    lists.rowsApplied(), lists.fellBack() ? ", the rest dense" : "");
        }
        if (cce.lastDense && (lists == null || !lists.fellBack())) s += "dense (cuBLAS chunks), ";
        return s;
    }

    static double median(List<Float> xs) {
        float[] a = new float[xs.size()];
        for (int i = 0; i < a.length; i++) a[i] = xs.get(i);
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2.0;
    }
}
