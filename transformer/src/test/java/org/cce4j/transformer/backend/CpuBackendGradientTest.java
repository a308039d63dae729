package org.cce4j.transformer.backend;

import org.cce4j.transformer.model.RopeFrequencies;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each CPU backend operation's backward against central finite differences of its forward: the
 * scalar L = Σ r·y for a fixed random r, perturbed one input element at a time. f32 arithmetic
 * limits the finite differences to about 1e-3 relative, so this checks the formulas; the exact
 * numbers are checked against transformers in HfReferenceTest.
 */
class CpuBackendGradientTest {
    private final CpuBackend be = new CpuBackend();
    private final SplittableRandom rnd = new SplittableRandom(3);

    private Tensor random(long... shape) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) rnd.nextGaussian());
        return t;
    }

    private static double dot(Tensor a, Tensor b) {
        double s = 0;
        for (long i = 0; i < a.numel(); i++) s += (double) a.getFloat(i) * b.getFloat(i);
        return s;
    }

    /** Compares analytic[i] with (L(x+h) − L(x−h)) / 2h on a sample of coordinates of x. */
    private void checkGradient(String what, Tensor x, Tensor analytic, java.util.function.DoubleSupplier loss) {
        double h = 2e-3;
        double worst = 0;
        int samples = (int) Math.min(40, x.numel());
        for (int s = 0; s < samples; s++) {
            long i = s == 0 ? 0 : rnd.nextLong(x.numel());
            float keep = x.getFloat(i);
            x.setFloat(i, keep + (float) h);
            double plus = loss.getAsDouble();
            x.setFloat(i, keep - (float) h);
            double minus = loss.getAsDouble();
            x.setFloat(i, keep);
            double fd = (plus - minus) / (2 * h);
            double err = Math.abs(fd - analytic.getFloat(i)) / (1e-2 + Math.abs(fd));
            worst = Math.max(worst, err);
        }
        assertTrue(worst < 5e-3, what + ": worst relative disagreement with finite differences " + worst);
    }

    private double forwardLoss(Consumer<Tensor> f, Tensor y, Tensor r) {
        f.accept(y);
        return dot(y, r);
    }

    @Test
    void rmsNormBothGainStyles() {
        for (boolean unit : new boolean[] {false, true}) {
            Tensor x = random(5, 12), w = random(12), y = Tensor.zeros(DType.F32, 5, 12), rstd = Tensor.zeros(DType.F32, 5), r = random(5, 12);
            Consumer<Tensor> f = out -> be.rmsNorm(x, w, 1e-5f, unit, out, rstd);
            f.accept(y);
            Tensor dx = Tensor.zeros(DType.F32, 5, 12), dw = Tensor.zeros(DType.F32, 12);
            be.rmsNormBackward(r, x, w, rstd, unit, dx, dw);
            checkGradient("rmsNorm dx unit=" + unit, x, dx, () -> forwardLoss(f, y, r));
            checkGradient("rmsNorm dw unit=" + unit, w, dw, () -> forwardLoss(f, y, r));
        }
    }

    @Test
    void linearWithBias() {
        Tensor x = random(7, 9), w = random(6, 9), b = random(6), y = Tensor.zeros(DType.F32, 7, 6), r = random(7, 6);
        Consumer<Tensor> f = out -> be.linear(x, w, b, out);
        Tensor dx = Tensor.zeros(DType.F32, 7, 9), dw = Tensor.zeros(DType.F32, 6, 9), db = Tensor.zeros(DType.F32, 6);
        be.linearBackward(r, x, w, dx, false, dw, db);
        checkGradient("linear dx", x, dx, () -> forwardLoss(f, y, r));
        checkGradient("linear dw", w, dw, () -> forwardLoss(f, y, r));
        checkGradient("linear db", b, db, () -> forwardLoss(f, y, r));
    }

    @Test
    void gatedActivations() {
        for (Activation act : Activation.values()) {
            Tensor g = random(4, 10), u = random(4, 10), y = Tensor.zeros(DType.F32, 4, 10), r = random(4, 10);
            Consumer<Tensor> f = out -> be.gatedActivation(act, g, u, out);
            Tensor dg = Tensor.zeros(DType.F32, 4, 10), du = Tensor.zeros(DType.F32, 4, 10);
            be.gatedActivationBackward(act, g, u, r, dg, du);
            checkGradient(act + " dGate", g, dg, () -> forwardLoss(f, y, r));
            checkGradient(act + " dUp", u, du, () -> forwardLoss(f, y, r));
        }
    }

    @Test
    void attentionWithGqaWindowSoftcapAndDocuments() {
        int b = 2, t = 6, heads = 4, kv = 2, hd = 4;
        int[] docs = {0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2};
        AttentionShape shape = new AttentionShape(b, t, heads, kv, hd, 0.5f, 3f, 4, docs, null);
        Tensor q = random(b * t, heads * hd), k = random(b * t, kv * hd), v = random(b * t, kv * hd);
        Tensor out = Tensor.zeros(DType.F32, b * t, heads * hd), lse = Tensor.zeros(DType.F32, b * t, heads), r = random(b * t, heads * hd);
        Consumer<Tensor> f = o -> be.attention(shape, q, k, v, o, lse);
        f.accept(out);
        Tensor dq = Tensor.zeros(DType.F32, b * t, heads * hd), dk = Tensor.zeros(DType.F32, b * t, kv * hd), dv = Tensor.zeros(DType.F32, b * t, kv * hd);
        be.attentionBackward(shape, q, k, v, out, lse, r, dq, dk, dv);
        checkGradient("attention dq", q, dq, () -> forwardLoss(f, out, r));
        checkGradient("attention dk", k, dk, () -> forwardLoss(f, out, r));
        checkGradient("attention dv", v, dv, () -> forwardLoss(f, out, r));
    }

    @Test
    void ropeInverseIsTheTransposeAndRestoresTheInput() {
        RopeTable table = RopeFrequencies.of(org.cce4j.checkpoints.hf.RopeParameters.plain(10000), 8, 64);
        int[] pos = {0, 3, 7, 63};
        Tensor x = random(4, 16);
        float[] before = x.toFloatArray();
        be.rope(x, 2, table, pos, false);
        be.rope(x, 2, table, pos, true);
        float[] after = x.toFloatArray();
        for (int i = 0; i < before.length; i++) assertEquals(before[i], after[i], 1e-5f, "element " + i);
    }

    @Test
    void erfMatchesKnownValues() {
        assertEquals(0.5204998778130465, ActivationMath.erf(0.5), 1e-15);
        assertEquals(0.8427007929497149, ActivationMath.erf(1.0), 1e-15);
        assertEquals(-0.9953222650189527, ActivationMath.erf(-2.0), 1e-15);
        assertEquals(0.9999999999984626, ActivationMath.erf(5.0), 1e-15);
        assertEquals(0.0, ActivationMath.erf(0.0), 0);
    }
}
