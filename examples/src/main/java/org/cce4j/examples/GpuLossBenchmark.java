package org.cce4j.examples;

import org.cce4j.core.bench.CudaLossBenchmark;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

import java.util.HashMap;
import java.util.Map;

/**
 * The CCE paper's loss benchmark on a CUDA device, one JSON line per implementation and shape:
 * <pre>
 *   GpuLossBenchmark [--n 8192] [--d 2304] [--v 256000] [--dtype bf16] [--softcap 0]
 *                    [--impl cce,cce-exact,baseline] [--iters 20] [--warmup 3] [--device cuda:0]
 * </pre>
 * The timing routine is {@link CudaLossBenchmark#run}, shared with the trainer's bench-loss (extra memory in MB = 10^6 bytes).
 */
public final class GpuLossBenchmark {
    private GpuLossBenchmark() {}

    public static void main(String[] args) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        int n = Integer.parseInt(a.getOrDefault("n", "8192"));
        int d = Integer.parseInt(a.getOrDefault("d", "2304"));
        int v = Integer.parseInt(a.getOrDefault("v", "256000"));
        DType dtype = DType.parseOrNull(a.getOrDefault("dtype", "bf16"));
        float softcap = Float.parseFloat(a.getOrDefault("softcap", "0"));
        int iters = Integer.parseInt(a.getOrDefault("iters", "20"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "3"));
        Device device = Device.parse(a.getOrDefault("device", "cuda:0"));
        for (String impl : a.getOrDefault("impl", "cce,baseline").split(",")) {
            try {
                System.out.println(CudaLossBenchmark.run(CceImpl.parse(impl), device, n, d, v, dtype, softcap, iters, warmup).toJson());
            } catch (RuntimeException e) {
                System.out.println("{\"impl\":\"" + impl + "\",\"error\":\"" + String.valueOf(e.getMessage()).replace('"', '\'').replace('\n', ' ') + "\"}");
            }
            System.out.flush();
        }
    }
}
