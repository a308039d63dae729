package org.cce4j.trainer.demo;

import org.cce4j.core.bench.CpuLossBenchmark;
import org.cce4j.core.bench.LossBenchmarkInputs;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;

/**
 * Cut Cross-Entropy against the materialized baseline on the CPU at one shape (N tokens of hidden size
 * D, a vocabulary of V), measured by cce-core's {@link CpuLossBenchmark#once}: each one's loss, time and
 * extra memory (working memory beyond inputs and gradients), and how far apart their gradients are.
 * `demo loss` prints it as a table; the demo's last part reports it at the demo's shapes and at Llama 3's.
 */
public final class LossComparison {
    private LossComparison() {}

    /** Both measurements and the relative differences of their gradients. */
    public record Result(int n, int d, int v, CpuLossBenchmark.Once cce, CpuLossBenchmark.Once baseline, double dEDifference, double dCDifference) {
        /** The baseline's logits alone: N×V×4 bytes. */
        public double logitsBytes() {
            return 4.0 * n * v;
        }
    }

    /** Receives each implementation's measurement as it is made (the table prints it at once). */
    public interface Listener {
        void measured(CceImpl impl, CpuLossBenchmark.Once once);
    }

    /**
     * Measures CCE, then the baseline, on seeded inputs of the given shape.
     *
     * @param warmUp run each once before the measured run (the JIT's first compilation otherwise counts in the times)
     */
    public static Result measure(int n, int d, int v, boolean warmUp, Listener listener) {
        CceInputs in = LossBenchmarkInputs.create(n, d, v, DType.F32, 42);
        CpuLossBenchmark.Once[] runs = new CpuLossBenchmark.Once[2];
        CceImpl[] impls = {CceImpl.CCE, CceImpl.BASELINE};
        try {
            for (int i = 0; i < impls.length; i++) {
                LinearCrossEntropy loss = LinearCrossEntropy.create(impls[i], Device.CPU);
                if (warmUp) CpuLossBenchmark.once(loss, in, CceOptions.defaults()).gradients().close();
                runs[i] = CpuLossBenchmark.once(loss, in, CceOptions.defaults());
                if (listener != null) listener.measured(impls[i], runs[i]);
            }
            double de = relativeDifference(runs[0].gradients().dEmbeddings().toFloatArray(), runs[1].gradients().dEmbeddings().toFloatArray());
            double dc = relativeDifference(runs[0].gradients().dClassifier().toFloatArray(), runs[1].gradients().dClassifier().toFloatArray());
            return new Result(n, d, v, runs[0], runs[1], de, dc);
        } finally {
            for (CpuLossBenchmark.Once r : runs) if (r != null) r.gradients().close();
            LossBenchmarkInputs.close(in);
        }
    }

    static double relativeDifference(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (double) (a[i] - b[i]) * (a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }
}
