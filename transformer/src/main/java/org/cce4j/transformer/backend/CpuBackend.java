package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cpu.CpuGemm;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.HostMemory;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CPU reference backend: f32 everywhere, reductions in f64 where a row is summed, matrix
 * products through cce-core's blocked sgemm, everything else row-parallel plain Java meant to be
 * read next to the transformers source it mirrors.
 */
public final class CpuBackend implements Backend {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public DType computeDType() {
        return DType.F32;
    }

    @Override
    public Tensor zeros(DType dtype, long... shape) {
        return Tensor.zeros(dtype, shape);
    }

    @Override
    public Tensor upload(Tensor host, DType dtype) {
        return host.to(dtype);
    }

    @Override
    public Tensor downloadF32(Tensor t) {
        return t.to(DType.F32);
    }

    private static int rows(Tensor t) {
        return Math.toIntExact(t.numel() / t.dim(-1));
    }

    private static void requireF32(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32) throw new InvalidInputException("the CPU backend computes in f32, got " + t);
        }
    }

    // ---- linear ----------------------------------------------------------------------------

    @Override
    public void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        requireF32(x, w, b, y);
        int m = rows(x), k = (int) x.dim(-1), n = (int) w.dim(0);
        CpuGemm.gemm(false, true, m, n, k, x.data(), 0, k, w.data(), 0, k, 0f, y.data(), 0, n);
        if (b != null) {
            float[] bias = b.toFloatArray();
            CpuParallel.forEach(m, r -> {
                for (int j = 0; j < n; j++) {
                    long o = 4L * ((long) r * n + j);
                    y.data().set(F32, o, y.data().get(F32, o) + bias[j]);
                }
            });
        }
    }

    @Override
    public void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        requireF32(dy, x, w, dx, dw, db);
        int m = rows(x), k = (int) x.dim(-1), n = (int) w.dim(0);
        if (dx != null) CpuGemm.gemm(false, false, m, k, n, dy.data(), 0, n, w.data(), 0, k, accumulateDx ? 1f : 0f, dx.data(), 0, k);
        if (dw != null) CpuGemm.gemm(true, false, n, k, m, dy.data(), 0, n, x.data(), 0, k, 1f, dw.data(), 0, k);
        if (db != null) {
            double[] sum = new double[n];
            for (int r = 0; r < m; r++) for (int j = 0; j < n; j++) sum[j] += dy.data().get(F32, 4L * ((long) r * n + j));
            for (int j = 0; j < n; j++) db.setFloat(j, (float) (db.getFloat(j) + sum[j]));
        }
    }

    // ---- normalization ----------------------------------------------------------------------

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, boolean unitOffset, Tensor y, Tensor rstd) {
        requireF32(x, w, y, rstd);
        int m = rows(x), d = (int) x.dim(-1);
        float[] g = gains(w, unitOffset);
        CpuParallel.forEach(m, r -> {
            long base = 4L * r * d;
            double ss = 0;
            for (int i = 0; i < d; i++) {
                float v = x.data().get(F32, base + 4L * i);
                ss += (double) v * v;
            }
            float inv = (float) (1 / Math.sqrt(ss / d + eps));
            rstd.data().set(F32, 4L * r, inv);
            for (int i = 0; i < d; i++) y.data().set(F32, base + 4L * i, x.data().get(F32, base + 4L * i) * inv * g[i]);
        });
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor dx, Tensor dw) {
        requireF32(dy, x, w, rstd, dx, dw);
        int m = rows(x), d = (int) x.dim(-1);
        float[] g = gains(w, unitOffset);
        // dx = rstd·(g∘dy) − x·rstd³·mean(x·(g∘dy));  dw = Σ_rows dy∘x·rstd
        CpuParallel.forEach(m, r -> {
            long base = 4L * r * d;
            float inv = rstd.data().get(F32, 4L * r);
            double dot = 0;
            for (int i = 0; i < d; i++) dot += (double) dy.data().get(F32, base + 4L * i) * g[i] * x.data().get(F32, base + 4L * i);
            double c = dot / d * inv * inv * inv;
            if (dx != null) {
                for (int i = 0; i < d; i++) {
                    float xv = x.data().get(F32, base + 4L * i);
                    dx.data().set(F32, base + 4L * i, (float) (inv * g[i] * dy.data().get(F32, base + 4L * i) - xv * c));
                }
            }
        });
        if (dw != null) {
            double[] sum = new double[d];
            for (int r = 0; r < m; r++) {
                long base = 4L * r * d;
                float inv = rstd.data().get(F32, 4L * r);
                for (int i = 0; i < d; i++) sum[i] += (double) dy.data().get(F32, base + 4L * i) * x.data().get(F32, base + 4L * i) * inv;
            }
            for (int i = 0; i < d; i++) dw.setFloat(i, (float) (dw.getFloat(i) + sum[i]));
        }
    }

    private static float[] gains(Tensor w, boolean unitOffset) {
        float[] g = w.toFloatArray();
        if (unitOffset) for (int i = 0; i < g.length; i++) g[i] = 1f + g[i];
        return g;
    }

    // ---- positions and attention ---------------------------------------------------------------

    @Override
    public void rope(Tensor x, int heads, RopeTable table, int[] positions, boolean inverse) {
        requireF32(x);
        int m = rows(x), hd = table.headDim(), half = hd / 2, width = (int) x.dim(-1);
        if (width != heads * hd) throw new IllegalArgumentException("rope: rows of " + width + " are not " + heads + " heads of " + hd);
        CpuParallel.forEach(m, r -> {
            float[] cos = new float[half], sin = new float[half];
            table.row(positions[r], cos, sin);
            float sign = inverse ? -1f : 1f;
            for (int h = 0; h < heads; h++) {
                long base = 4L * ((long) r * width + (long) h * hd);
                for (int i = 0; i < half; i++) {
                    long lo = base + 4L * i, hi = base + 4L * (i + half);
                    float a = x.data().get(F32, lo), b = x.data().get(F32, hi);
                    x.data().set(F32, lo, a * cos[i] - sign * b * sin[i]);
                    x.data().set(F32, hi, b * cos[i] + sign * a * sin[i]);
                }
            }
        });
    }

    @Override
    public void attention(AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        requireF32(q, k, v, out, lse);
        CpuAttention.forward(shape, q, k, v, out, lse);
    }

    @Override
    public void attentionBackward(AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                                  Tensor dq, Tensor dk, Tensor dv) {
        requireF32(q, k, v, out, lse, dOut, dq, dk, dv);
        CpuAttention.backward(shape, q, k, v, out, lse, dOut, dq, dk, dv);
    }

    @Override
    public void decodeAttention(DecodeShape shape, Tensor q, Tensor kCache, Tensor vCache, Tensor out) {
        requireF32(q, kCache, vCache, out);
        CpuAttention.decode(shape, q, kCache, vCache, out);
    }

    // ---- element-wise ------------------------------------------------------------------------

    @Override
    public void gatedActivation(Activation act, Tensor gate, Tensor up, Tensor out) {
        requireF32(gate, up, out);
        elementwise(gate.numel(), i -> {
            long o = 4L * i;
            double g = gate.data().get(F32, o);
            out.data().set(F32, o, (float) (ActivationMath.apply(act, g) * up.data().get(F32, o)));
        });
    }

    @Override
    public void gatedActivationBackward(Activation act, Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp) {
        requireF32(gate, up, dOut, dGate, dUp);
        elementwise(gate.numel(), i -> {
            long o = 4L * i;
            double g = gate.data().get(F32, o), u = up.data().get(F32, o), d = dOut.data().get(F32, o);
            dGate.data().set(F32, o, (float) (d * u * ActivationMath.derivative(act, g)));
            dUp.data().set(F32, o, (float) (d * ActivationMath.apply(act, g)));
        });
    }

    @Override
    public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
        requireF32(table, out);
        int d = (int) table.dim(1), vocab = (int) table.dim(0);
        CpuParallel.forEach(ids.length, r -> {
            int id = ids[r];
            if (id < 0 || id >= vocab) throw new InvalidInputException("token id " + id + " at position " + r + " is outside [0, " + vocab + ")");
            for (int i = 0; i < d; i++) {
                out.data().set(F32, 4L * ((long) r * d + i), table.data().get(F32, 4L * ((long) id * d + i)) * scale);
            }
        });
    }

    @Override
    public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx) {
        requireF32(dOut, dTable);
        int d = (int) dTable.dim(1);
        for (int r = 0; r < ids.length; r++) {
            if (ids[r] == paddingIdx) continue;
            long src = 4L * r * d, dst = 4L * ids[r] * d;
            for (int i = 0; i < d; i++) {
                dTable.data().set(F32, dst + 4L * i, dTable.data().get(F32, dst + 4L * i) + dOut.data().get(F32, src + 4L * i) * scale);
            }
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        requireF32(a, b, out);
        elementwise(a.numel(), i -> out.data().set(F32, 4L * i, a.data().get(F32, 4L * i) + b.data().get(F32, 4L * i)));
    }

    @Override
    public void softcap(Tensor x, float cap) {
        requireF32(x);
        elementwise(x.numel(), i -> x.data().set(F32, 4L * i, cap * (float) Math.tanh(x.data().get(F32, 4L * i) / cap)));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        dst.copyFrom(src);
    }

    // ---- training -----------------------------------------------------------------------

    @Override
    public long bytesInUse() {
        return HostMemory.bytesInUse();
    }

    @Override
    public long peakBytes() {
        return HostMemory.peakBytes();
    }

    @Override
    public void resetPeak() {
        HostMemory.resetPeak();
    }

    @Override
    public Tensor download(Tensor t) {
        return t.to(t.dtype());
    }

    @Override
    public void linearAccumulate(Tensor x, Tensor w, Tensor y) {
        requireF32(x, w, y);
        int m = rows(x), k = (int) x.dim(-1), n = (int) w.dim(0);
        CpuGemm.gemm(false, true, m, n, k, x.data(), 0, k, w.data(), 0, k, 1f, y.data(), 0, n);
    }

    @Override
    public void scale(Tensor x, float s) {
        requireF32(x);
        elementwise(x.numel(), i -> x.data().set(F32, 4L * i, x.data().get(F32, 4L * i) * s));
    }

    @Override
    public void dropout(Tensor x, Tensor out, float p, long seed) {
        requireF32(x, out);
        float scale = DropoutMask.scale(p);
        elementwise(x.numel(), i -> out.data().set(F32, 4L * i,
                DropoutMask.keep(seed, i, p) ? x.data().get(F32, 4L * i) * scale : 0f));
    }

    @Override
    public void sumOfSquares(Tensor x, Tensor acc) {
        requireF32(x);
        if (acc.dtype() != DType.F64 || acc.numel() != 1) throw new IllegalArgumentException("sumOfSquares accumulates into an f64 [1], got " + acc);
        int chunk = 1 << 16;
        int chunks = (int) ((x.numel() + chunk - 1) / chunk);
        double[] partial = new double[chunks];
        CpuParallel.forEach(chunks, c -> {
            long end = Math.min(x.numel(), (long) (c + 1) * chunk);
            double sum = 0;
            for (long i = (long) c * chunk; i < end; i++) {
                double v = x.data().get(F32, 4L * i);
                sum += v * v;
            }
            partial[c] = sum;
        });
        double total = acc.getDouble(0);
        for (double p : partial) total += p;   // fixed order: the same sum on every run
        acc.setDouble(0, total);
    }

    @Override
    public void adamw(Tensor value, Tensor master, Tensor grad, Tensor m, Tensor v, Tensor gradSumOfSquares, AdamWStep st) {
        requireF32(value, master, grad, m, v);
        if (master != null) throw new IllegalArgumentException("the CPU backend keeps parameters in f32: no master copy");
        float clip = gradSumOfSquares == null ? 1f : st.clipFactor(gradSumOfSquares.getDouble(0));
        // torch.optim.AdamW's single-tensor path, scalar for scalar in f32
        float decay = (float) (1 - st.lr() * st.weightDecay());
        float oneMinusBeta1 = (float) (1 - st.beta1()), beta2 = (float) st.beta2(), oneMinusBeta2 = (float) (1 - st.beta2());
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        float negStepSize = (float) -(st.lr() / bc1), bc2Sqrt = (float) Math.sqrt(bc2), eps = (float) st.eps();
        boolean clipped = gradSumOfSquares != null && st.maxGradNorm() > 0;
        boolean lerpLow = oneMinusBeta1 < 0.5f;
        elementwise(value.numel(), i -> {
            long o = 4L * i;
            float g = grad.data().get(F32, o);
            if (clipped) g = g * clip;
            float p = value.data().get(F32, o) * decay;
            float mi = m.data().get(F32, o);
            mi = lerpLow ? mi + oneMinusBeta1 * (g - mi) : g - (g - mi) * (1f - oneMinusBeta1);   // torch's lerp, both branches
            float vi = v.data().get(F32, o) * beta2 + oneMinusBeta2 * g * g;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            p = p + negStepSize * (mi / denom);
            m.data().set(F32, o, mi);
            v.data().set(F32, o, vi);
            value.data().set(F32, o, p);
        });
    }

    @Override
    public LinearCrossEntropy crossEntropy(CceImpl impl) {
        return LinearCrossEntropy.create(impl, Device.CPU);
    }

    private interface LongBody {
        void run(long i);
    }

    /** Runs body over [0, n) in parallel chunks. */
    private static void elementwise(long n, LongBody body) {
        int chunk = 1 << 14;
        int chunks = (int) ((n + chunk - 1) / chunk);
        CpuParallel.forEach(chunks, c -> {
            long end = Math.min(n, (long) (c + 1) * chunk);
            for (long i = (long) c * chunk; i < end; i++) body.run(i);
        });
    }
}
