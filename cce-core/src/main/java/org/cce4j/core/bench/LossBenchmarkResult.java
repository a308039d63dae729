package org.cce4j.core.bench;

import java.util.Locale;

/**
 * One measurement of bench-loss, printed as one JSON line: medians of the timed iterations, and the
 * working memory of one forward+backward (peak minus what was in use before, minus the returned
 * gradients) in MB (10^6 bytes), with the options that change the work (accuracy in the forward,
 * the filter of each gradient).
 */
public record LossBenchmarkResult(String impl, String device, int n, int d, int v, String dtype, float softcap,
                                  int iters, double forwardMs, double forwardBackwardMs, double extraMemoryMB,
                                  float loss, String kernels, boolean accuracy, boolean filterEGrad, boolean filterCGrad) {

    /** With the default options: no accuracy, both gradients filtered. */
    public LossBenchmarkResult(String impl, String device, int n, int d, int v, String dtype, float softcap, int iters,
                               double forwardMs, double forwardBackwardMs, double extraMemoryMB, float loss, String kernels) {
        this(impl, device, n, d, v, dtype, softcap, iters, forwardMs, forwardBackwardMs, extraMemoryMB, loss, kernels,
                false, true, true);
    }

    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"impl\":\"%s\",\"device\":\"%s\",\"n\":%d,\"d\":%d,\"v\":%d,\"dtype\":\"%s\",\"softcap\":%s,"
                        + "\"iters\":%d,\"forward_ms\":%.3f,\"forward_backward_ms\":%.3f,\"extra_memory_mb\":%.3f,"
                        + "\"loss\":%.6f,\"kernels\":\"%s\",\"accuracy\":%b,\"filter_e_grad\":%b,\"filter_c_grad\":%b}",
                impl, device, n, d, v, dtype, softcap == 0 ? "null" : Float.toString(softcap), iters, forwardMs,
                forwardBackwardMs, extraMemoryMB, loss, kernels, accuracy, filterEGrad, filterCGrad);
    }

    /** The same line with the inputs' statistics as an "inputs" object before the closing brace. */
    public String toJson(InputStatistics inputs) {
        String j = toJson();
        return j.substring(0, j.length() - 1) + ",\"inputs\":" + inputs.toJson() + "}";
    }

    /** Multiply-add work of the logit products, counted as 2 flops: forward 2NVD. */
    public double forwardFlops() {
        return 2.0 * n * (double) v * d;
    }
}
