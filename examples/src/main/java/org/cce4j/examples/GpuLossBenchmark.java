package org.cce4j.examples;

import org.cce4j.core.bench.BenchmarkInputs;
import org.cce4j.core.bench.CudaLossBenchmark;
import org.cce4j.core.bench.InputKind;
import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

import java.util.Set;

/**
 * The CCE paper's loss benchmark on a CUDA device, one JSON line per implementation and shape:
 * <pre>
 *   GpuLossBenchmark [--n 8192] [--d 2304] [--v 256000] [--dtype bf16] [--softcap 0]
 *                    [--impl cce,cce-exact,baseline] [--iters 20] [--warmup 3] [--device cuda:0]
 *                    [--inputs paper|uniform|trained]
 * </pre>
 * The timing routine is {@link CudaLossBenchmark#run}, shared with the trainer's bench-loss (extra memory in MB = 10^6 bytes).
 * With {@code --inputs} other than paper (the default, drawn per implementation as before) the inputs are drawn once
 * ({@link LossBenchmarks#prepare}) and each JSON line carries their softmax statistics under "inputs".
 */
public final class GpuLossBenchmark {
    private GpuLossBenchmark() {}

    static final String USAGE = """
            usage: ./cce4j example GpuLossBenchmark [--n 8192] [--d 2304] [--v 256000] [--dtype bf16] [--softcap 0]
                                                    [--impl cce,baseline] [--iters 20] [--warmup 3] [--device cuda:0]
                                                    [--inputs paper|uniform|trained]
              The CCE paper's loss benchmark on a CUDA device: one JSON line per implementation; --inputs uniform or
              trained draws other inputs once and adds their softmax statistics to each line.
            """;

    public static void main(String[] args) {
        ExampleArgs a = ExampleArgs.parse(args, USAGE,
                Set.of("n", "d", "v", "dtype", "softcap", "impl", "iters", "warmup", "device", "inputs"), Set.of(), 0);
        if (a.helpRequested()) return;
        int n = a.positiveInt("n", 8192);
        int d = a.positiveInt("d", 2304);
        int v = a.positiveInt("v", 256000);
        DType dtype = a.value("dtype", "bf16", DType::parse);
        float softcap = a.value("softcap", "0", Float::parseFloat);
        int iters = a.positiveInt("iters", 20);
        int warmup = a.nonNegativeInt("warmup", 3);
        Device device = a.value("device", "cuda:0", Device::parse);
        InputKind kind = a.value("inputs", "paper", s -> {
            if (!InputKind.isKind(s)) throw new IllegalArgumentException("must be paper, uniform or trained, got " + s);
            return InputKind.parse(s);
        });
        if (kind != InputKind.PAPER) {
            try (BenchmarkInputs in = LossBenchmarks.prepare(device, kind, n, d, v, dtype, softcap)) {
                CceOptions options = CceOptions.defaults().withSoftcap(softcap);
                for (String impl : a.string("impl", "cce,baseline").split(",")) {
                    try {
                        System.out.println(CudaLossBenchmark.run(CceImpl.parse(impl), device, in.inputs(), options, iters, warmup)
                                .toJson(in.statistics()));
                    } catch (RuntimeException e) {
                        System.out.println(error(impl, e));
                    }
                    System.out.flush();
                }
            }
            return;
        }
        for (String impl : a.string("impl", "cce,baseline").split(",")) {
            try {
                System.out.println(CudaLossBenchmark.run(CceImpl.parse(impl), device, n, d, v, dtype, softcap, iters, warmup).toJson());
            } catch (RuntimeException e) {
                System.out.println(error(impl, e));
            }
            System.out.flush();
        }
    }

    private static String error(String impl, RuntimeException e) {
        return "{\"impl\":\"" + impl + "\",\"error\":\"" + String.valueOf(e.getMessage()).replace('"', '\'').replace('\n', ' ') + "\"}";
    }
}
