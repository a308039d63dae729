package org.cce4j.transformer.model;

import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.backend.DropoutMask;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A projection with a LoRA adapter against the formula in float64, forward and backward:
 * y = W·x + b + s·B·A·dropout(x); dx, dA, dB by the chain rule; W and b frozen (no gradient).
 * The dropout mask is DropoutMask's, which the reference applies the same way.
 */
class LoraBranchTest {
    private final CpuBackend be = new CpuBackend();

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.3f})
    void forwardAndBackwardMatchTheFormula(float p) {
        int m = 7, in = 12, out = 9, r = 3;
        double s = 16.0 / r;
        long seed = 1234;
        SplittableRandom rnd = new SplittableRandom(5);
        double[] w = gauss(rnd, out * in), bias = gauss(rnd, out), a = gauss(rnd, r * in), b = gauss(rnd, out * r);
        double[] x = gauss(rnd, m * in), dy = gauss(rnd, m * out);

        ParameterStore store = new ParameterStore();
        store.add("p.weight", Tensor.of(f(w), out, in), be, false);
        store.add("p.bias", Tensor.of(f(bias), out), be, false);
        Parameter pa = store.add("p.lora_A.weight", Tensor.of(f(a), r, in), be, true);
        Parameter pb = store.add("p.lora_B.weight", Tensor.of(f(b), out, r), be, true);
        Linear lin = new Linear(store, new HfModules.Linear("p", out, in, true));
        lin.setLora(new LoraBranch(pa, pb, s, p));

        double[] xd = new double[m * in];
        float scale = DropoutMask.scale(p);
        for (int i = 0; i < xd.length; i++) xd[i] = p == 0 || DropoutMask.keep(seed, i, p) ? (float) x[i] * (p == 0 ? 1 : scale) : 0;
        // reference, f64: h = s·xd·Aᵀ, y = x·Wᵀ + b + h·Bᵀ
        double[] h = new double[m * r], y = new double[m * out];
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < r; k++) {
                double acc = 0;
                for (int j = 0; j < in; j++) acc += xd[i * in + j] * a[k * in + j];
                h[i * r + k] = s * acc;
            }
            for (int o = 0; o < out; o++) {
                double acc = bias[o];
                for (int j = 0; j < in; j++) acc += x[i * in + j] * w[o * in + j];
                for (int k = 0; k < r; k++) acc += h[i * r + k] * b[o * r + k];
                y[i * out + o] = acc;
            }
        }
        // backward: dB = dyᵀ·h, dh = s·dy·B, dA = dhᵀ·xd, dx = dy·W + mask(dh·A)
        double[] dB = new double[out * r], dA = new double[r * in], dx = new double[m * in];
        double[] dh = new double[m * r];
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < r; k++) {
                double acc = 0;
                for (int o = 0; o < out; o++) acc += dy[i * out + o] * b[o * r + k];
                dh[i * r + k] = s * acc;
            }
        }
        for (int o = 0; o < out; o++) for (int k = 0; k < r; k++) {
            double acc = 0;
            for (int i = 0; i < m; i++) acc += dy[i * out + o] * h[i * r + k];
            dB[o * r + k] = acc;
        }
        for (int k = 0; k < r; k++) for (int j = 0; j < in; j++) {
            double acc = 0;
            for (int i = 0; i < m; i++) acc += dh[i * r + k] * xd[i * in + j];
            dA[k * in + j] = acc;
        }
        for (int i = 0; i < m; i++) for (int j = 0; j < in; j++) {
            double base = 0, branch = 0;
            for (int o = 0; o < out; o++) base += dy[i * out + o] * w[o * in + j];
            for (int k = 0; k < r; k++) branch += dh[i * r + k] * a[k * in + j];
            boolean kept = p == 0 || DropoutMask.keep(seed, (long) i * in + j, p);
            dx[i * in + j] = base + (kept ? branch * (p == 0 ? 1 : scale) : 0);
        }

        try (Scratch mem = new Scratch(be); Tensor tx = Tensor.of(f(x), m, in); Tensor ty = Tensor.zeros(DType.F32, m, out);
             Tensor tdy = Tensor.of(f(dy), m, out); Tensor tdx = Tensor.zeros(DType.F32, m, in)) {
            Tensor saved = lin.forward(be, mem, tx, ty, seed);
            RelativeError.assertClose(y, ty.toDoubleArray(), 1e-5, "y (p=" + p + ")");
            RelativeError.assertClose(h, saved.toDoubleArray(), 1e-5, "h");
            lin.backward(be, tdy, tx, saved, tdx, false, seed);
            RelativeError.assertClose(dx, tdx.toDoubleArray(), 1e-5, "dx");
            RelativeError.assertClose(dA, pa.gradOrNull().toDoubleArray(), 1e-5, "dA");
            RelativeError.assertClose(dB, pb.gradOrNull().toDoubleArray(), 1e-5, "dB");
            assertNull(store.get("p.weight").existingGrad(), "the frozen base has no gradient");
            assertNull(store.get("p.bias").existingGrad(), "the frozen bias has no gradient");
        }
        store.close();
    }

    private static double[] gauss(SplittableRandom r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static float[] f(double[] d) {
        float[] v = new float[d.length];
        for (int i = 0; i < d.length; i++) v[i] = (float) d[i];
        return v;
    }
}
