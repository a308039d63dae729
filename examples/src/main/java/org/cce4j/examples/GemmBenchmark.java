package org.cce4j.examples;

import org.cce4j.core.cuda.Cublas;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * The matrix products of a linear layer's training step, one at a time, as the CUDA backend calls cuBLAS:
 * <pre>
 *   GemmBenchmark [--tokens 32768] [--shapes 2048x2048,512x2048,8192x2048,2048x8192] [--iters 20] [--device cuda:0]
 * </pre>
 * Each shape is a weight [out × in]; per shape the forward (x·Wᵀ, bf16 out), the input gradient (dy·W, bf16,
 * beta 0 and beta 1) and the weight gradient (dyᵀ·x) written as f32 with beta 1 (how the backend accumulates
 * f32 gradients), f32 with beta 0, and bf16 with beta 0 (what PyTorch under autocast computes before its cast).
 * One JSON line per product with the median of {@code --iters} timed calls (CUDA events). Exists because the
 * step's profile showed our products slower in total than PyTorch's for the same shapes: this separates
 * the kernels cuBLAS picks for each form from everything around them. tools/reference/gemm_bench.py is the
 * same on PyTorch.
 */
public final class GemmBenchmark {
    private GemmBenchmark() {}

    static final String USAGE = """
            usage: ./cce4j example GemmBenchmark [--tokens 32768] [--shapes 2048x2048,512x2048,8192x2048,2048x8192]
                                                 [--iters 20] [--device cuda:0]
              Times the forward, input-gradient and weight-gradient products of linear layers [out x in] as the CUDA
              backend calls cuBLAS, one JSON line per product.
            """;

    /** One product: row-major Y[m×n] = op(A)·op(B) with these element types and beta. */
    private record Product(String op, boolean transA, boolean transB, int m, int n, int k, DType out, float beta) {}

    public static void main(String[] args) {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of("tokens", "shapes", "iters", "device"), Set.of(), 0);
        if (a.helpRequested()) return;
        int tokens = a.positiveInt("tokens", 32768);
        int iters = a.positiveInt("iters", 20);
        Device device = a.value("device", "cuda:0", Device::parse);
        List<int[]> shapes = a.value("shapes", "2048x2048,512x2048,8192x2048,2048x8192", GemmBenchmark::shapes);
        CudaDevice dev = CudaDevice.get(device);
        for (int[] shape : shapes) {
            int out = shape[0], in = shape[1];
            List<Product> products = List.of(
                    new Product("forward", false, true, tokens, out, in, DType.BF16, 0f),
                    new Product("dx", false, false, tokens, in, out, DType.BF16, 0f),
                    new Product("dx", false, false, tokens, in, out, DType.BF16, 1f),
                    new Product("dw", true, false, out, in, tokens, DType.F32, 1f),
                    new Product("dw", true, false, out, in, tokens, DType.F32, 0f),
                    new Product("dw", true, false, out, in, tokens, DType.BF16, 0f));
            for (Product pr : products) System.out.println(time(dev, pr, out, in, iters));
        }
    }

    /** "OUTxIN,OUTxIN,...": the weights' shapes. */
    private static List<int[]> shapes(String text) {
        List<int[]> shapes = new ArrayList<>();
        for (String shape : text.split(",")) {
            String[] p = shape.split("x");
            if (p.length != 2) throw new IllegalArgumentException("expected OUTxIN, got " + shape);
            shapes.add(new int[] {ExampleArgs.positive(p[0]), ExampleArgs.positive(p[1])});
        }
        return shapes;
    }

    private static String time(CudaDevice dev, Product p, int out, int in, int iters) {
        Cublas blas = dev.cublas();
        long aElems = (long) p.m() * p.k(), bElems = (long) p.k() * p.n(), yElems = (long) p.m() * p.n();
        try (DeviceBuffer a = random(dev, aElems, 1); DeviceBuffer b = random(dev, bElems, 2);
             DeviceBuffer y = random(dev, yElems * p.out().byteSize() / 2, 3)) {   // f32: pairs of bf16 halves, finite
            int lda = p.transA() ? p.m() : p.k(), ldb = p.transB() ? p.k() : p.n();
            Runnable call = () -> blas.gemm(p.transA(), p.transB(), p.m(), p.n(), p.k(), 1f, a.pointer(), DType.BF16, lda,
                    b.pointer(), DType.BF16, ldb, p.beta(), y.pointer(), p.out(), p.n());
            for (int i = 0; i < 3; i++) call.run();
            List<Float> ms = new ArrayList<>();
            try (CudaDevice.Event start = dev.event(); CudaDevice.Event end = dev.event()) {
                for (int i = 0; i < iters; i++) {
                    start.record();
                    call.run();
                    end.record();
                    ms.add(end.millisSince(start));
                }
            }
            ms.sort(null);
            double median = ms.get(ms.size() / 2);
            double tflops = 2.0 * p.m() * p.n() * p.k() / (median * 1e-3) / 1e12;
            return String.format(Locale.ROOT,
                    "{\"impl\":\"cce4j\",\"weight\":\"%dx%d\",\"op\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"out\":\"%s\",\"beta\":%d,\"ms\":%.4f,\"tflops\":%.1f}",
                    out, in, p.op(), p.m(), p.n(), p.k(), p.out().name().toLowerCase(Locale.ROOT), (int) p.beta(), median, tflops);
        }
    }

    /** A buffer of {@code elems} random bf16 values in [-1, 1) (random bits, so the products draw real power). */
    private static DeviceBuffer random(CudaDevice dev, long elems, long seed) {
        DeviceBuffer buf = dev.buffer(elems * 2);
        Random r = new Random(seed);
        long chunk = Math.min(elems, 1 << 22);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(chunk * 2, 16);
            for (long i = 0; i < chunk; i++) {
                float v = r.nextFloat() * 2 - 1;
                host.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(v) >>> 16));
            }
            for (long off = 0; off < elems; off += chunk) {
                long n = Math.min(chunk, elems - off);
                dev.copyToDevice(host.asSlice(0, n * 2), buf.pointer() + off * 2, n * 2);
            }
        }
        return buf;
    }
}
