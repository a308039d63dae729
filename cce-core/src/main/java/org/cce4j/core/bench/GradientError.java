package org.cce4j.core.bench;

import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.Tensor;

import java.util.Locale;

/**
 * How far an implementation's gradients are from cce-exact's on the benchmark's own inputs (for
 * {@code bench-loss --grad-error}): ‖g − g_exact‖₂ / ‖g_exact‖₂ for dE and dC, computed in double on
 * the host from both gradients downloaded (f32; at Gemma 2 2B's head dC is 2.4 GB, so the JVM needs
 * the heap for two of them). What a filter drops shows here at the benchmark's real shape, where the
 * tests can only afford small ones.
 */
public final class GradientError {
    private final double[] exactE, exactC;

    private GradientError(double[] exactE, double[] exactC) {
        this.exactE = exactE;
        this.exactC = exactC;
    }

    /** The exact gradients of the mean loss (upstream 1) on {@code in}, to compare implementations with. */
    public static GradientError reference(BenchmarkInputs in, CceOptions o) {
        double[][] g = gradients(CceImpl.CCE_EXACT, in, o);
        return new GradientError(g[0], g[1]);
    }

    /** {dE, dC} relative errors of {@code impl} against the reference. */
    public double[] of(CceImpl impl, BenchmarkInputs in, CceOptions o) {
        double[][] g = gradients(impl, in, o);
        return new double[] {relative(exactE, g[0]), relative(exactC, g[1])};
    }

    /** {@code "grad_error_vs_exact":{"dE":…,"dC":…}}, to append to a result's JSON. */
    public static String json(double[] err) {
        return String.format(Locale.ROOT, "\"grad_error_vs_exact\":{\"dE\":%.4e,\"dC\":%.4e}", err[0], err[1]);
    }

    private static double[][] gradients(CceImpl impl, BenchmarkInputs in, CceOptions o) {
        LinearCrossEntropy loss = LinearCrossEntropy.create(impl, in.device());
        try (CceForward f = loss.forward(in.inputs(), o); CceGradients g = loss.backward(f, 1f)) {
            return new double[][] {values(g.dEmbeddings()), values(g.dClassifier())};
        }
    }

    private static double[] values(Tensor t) {
        if (t.device().isCpu()) return t.toDoubleArray();
        try (Tensor h = org.cce4j.core.device.Transfers.toHost(t)) {
            return h.toDoubleArray();
        }
    }

    private static double relative(double[] exact, double[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < exact.length; i++) {
            double dlt = got[i] - exact[i];
            num += dlt * dlt;
            den += exact[i] * exact[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
