package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cpu.Blocks;
import org.cce4j.core.cpu.CpuGemm;
import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuKernels;
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
 * read next to the transformers source it mirrors. Element-wise operations run over chunks of
 * {@link #CHUNK} elements copied into per-thread heap arrays (bulk copies, then loops the JIT
 * vectorizes, and cce-core's kernels for the exponentials), so that no per-element call or
 * memory-segment access is left in the inner loops; each element's arithmetic is independent of
 * the chunking, so results do not depend on the threads.
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

    /** One cache for the JVM: its blocks are off-heap and live until given back, whichever backend took them. */
    private static final HostBlockCache BLOCKS = new HostBlockCache();

    @Override
    public Tensor zeros(DType dtype, long... shape) {
        return Tensor.zeros(dtype, shape);
    }

    /** Uninitialized, as on CUDA: from {@link HostBlockCache}, so that a step's activations reuse the last step's memory. */
    @Override
    public Tensor empty(DType dtype, long... shape) {
        return BLOCKS.take(dtype, shape);
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
        rowChunks(m, d, (r0, rows, buf) -> {
            float[] xs = buf.get(0, rows * d), ys = buf.get(1, rows * d);
            load(x, (long) r0 * d, xs, rows * d);
            for (int r = 0; r < rows; r++) {
                int base = r * d;
                double ss = 0;
                for (int i = 0; i < d; i++) {
                    float v = xs[base + i];
                    ss += (double) v * v;
                }
                float inv = (float) (1 / Math.sqrt(ss / d + eps));
                rstd.data().set(F32, 4L * (r0 + r), inv);
                for (int i = 0; i < d; i++) ys[base + i] = xs[base + i] * inv * g[i];
            }
            store(ys, y, (long) r0 * d, rows * d);
        });
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor dx, Tensor dw) {
        requireF32(dy, x, w, rstd, dx, dw);
        int m = rows(x), d = (int) x.dim(-1);
        float[] g = gains(w, unitOffset);
        // dx = rstd·(g∘dy) − x·rstd³·mean(x·(g∘dy));  dw = Σ_rows dy∘x·rstd
        int chunkRows = rowsPerChunk(d);
        int chunks = Blocks.ceilDiv(m, chunkRows);
        double[][] partial = dw != null ? new double[chunks][d] : null;
        CpuParallel.forEach(chunks, c -> {
            int r0 = c * chunkRows, rows = Math.min(chunkRows, m - r0);
            Buffers buf = BUFFERS.get();
            float[] xs = buf.get(0, rows * d), dys = buf.get(1, rows * d), dxs = buf.get(2, rows * d);
            load(x, (long) r0 * d, xs, rows * d);
            load(dy, (long) r0 * d, dys, rows * d);
            double[] sum = partial != null ? partial[c] : null;
            for (int r = 0; r < rows; r++) {
                int base = r * d;
                float inv = rstd.data().get(F32, 4L * (r0 + r));
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double) dys[base + i] * g[i] * xs[base + i];
                double cc = dot / d * inv * inv * inv;
                if (dx != null) {
                    for (int i = 0; i < d; i++) dxs[base + i] = (float) (inv * g[i] * dys[base + i] - xs[base + i] * cc);
                }
                if (sum != null) {
                    for (int i = 0; i < d; i++) sum[i] += (double) dys[base + i] * xs[base + i] * inv;
                }
            }
            if (dx != null) store(dxs, dx, (long) r0 * d, rows * d);
        });
        if (dw != null) {
            for (int i = 0; i < d; i++) {
                double total = 0;
                for (double[] p : partial) total += p[i];   // chunks in order: the same sum on every run
                dw.setFloat(i, (float) (dw.getFloat(i) + total));
            }
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
        // the cos/sin rows of the positions in use, once per position when they are dense (a batch of sequences)
        int lo = Integer.MAX_VALUE, hi = Integer.MIN_VALUE;
        for (int r = 0; r < m; r++) {
            lo = Math.min(lo, positions[r]);
            hi = Math.max(hi, positions[r]);
        }
        int first = lo;
        float[] cosTable = null, sinTable = null;
        if (m > 0 && (long) hi - lo + 1 <= m) {
            int n = hi - lo + 1;
            cosTable = new float[n * half];
            sinTable = new float[n * half];
            float[] cos = new float[half], sin = new float[half];
            for (int p = 0; p < n; p++) {
                table.row(lo + p, cos, sin);
                System.arraycopy(cos, 0, cosTable, p * half, half);
                System.arraycopy(sin, 0, sinTable, p * half, half);
            }
        }
        float[] cosT = cosTable, sinT = sinTable;
        float sign = inverse ? -1f : 1f;
        rowChunks(m, width, (r0, rows, buf) -> {
            float[] xs = buf.get(0, rows * width), cos = buf.get(1, half), sin = buf.get(2, half);
            load(x, (long) r0 * width, xs, rows * width);
            for (int r = 0; r < rows; r++) {
                float[] c = cos, sn = sin;
                int co = 0;
                if (cosT != null) {
                    c = cosT;
                    sn = sinT;
                    co = (positions[r0 + r] - first) * half;
                } else {
                    table.row(positions[r0 + r], cos, sin);
                }
                for (int h = 0; h < heads; h++) {
                    int base = r * width + h * hd;
                    for (int i = 0; i < half; i++) {
                        float a = xs[base + i], b = xs[base + i + half];
                        xs[base + i] = a * c[co + i] - sign * b * sn[co + i];
                        xs[base + i + half] = b * c[co + i] + sign * a * sn[co + i];
                    }
                }
            }
            store(xs, x, (long) r0 * width, rows * width);
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

    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);
    private static final float GELU_C = 0.044715f;

    /**
     * out = act(gate)·up. SiLU and the tanh GELU in f32 with cce-core's exp and tanh (as torch
     * computes them in f32); the exact GELU and ReLU in f64 through {@link ActivationMath}.
     */
    @Override
    public void gatedActivation(Activation act, Tensor gate, Tensor up, Tensor out) {
        requireF32(gate, up, out);
        CpuKernels kr = CpuKernelSelector.best();
        chunks(gate.numel(), (start, len, buf) -> {
            float[] g = buf.get(0, len), u = buf.get(1, len), o = buf.get(2, len);
            load(gate, start, g, len);
            load(up, start, u, len);
            switch (act) {
                case SILU -> {
                    kr.sigmoid(g, 0, o, 0, len);
                    for (int i = 0; i < len; i++) o[i] = g[i] * o[i] * u[i];
                }
                case GELU_TANH -> {
                    for (int i = 0; i < len; i++) o[i] = SQRT_2_OVER_PI * (g[i] + GELU_C * g[i] * g[i] * g[i]);
                    kr.tanh(o, 0, o, 0, len);
                    for (int i = 0; i < len; i++) o[i] = 0.5f * g[i] * (1f + o[i]) * u[i];
                }
                default -> {
                    for (int i = 0; i < len; i++) o[i] = (float) (ActivationMath.apply(act, g[i]) * u[i]);
                }
            }
            store(o, out, start, len);
        });
    }

    @Override
    public void gatedActivationBackward(Activation act, Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp) {
        requireF32(gate, up, dOut, dGate, dUp);
        CpuKernels kr = CpuKernelSelector.best();
        chunks(gate.numel(), (start, len, buf) -> {
            float[] g = buf.get(0, len), u = buf.get(1, len), d = buf.get(2, len), s = buf.get(3, len), du = buf.get(4, len);
            load(gate, start, g, len);
            load(up, start, u, len);
            load(dOut, start, d, len);
            switch (act) {
                case SILU -> {
                    // silu(g) = g·σ(g);  silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
                    kr.sigmoid(g, 0, s, 0, len);
                    for (int i = 0; i < len; i++) {
                        float sg = s[i];
                        du[i] = d[i] * (g[i] * sg);
                        s[i] = d[i] * u[i] * (sg * (1f + g[i] * (1f - sg)));
                    }
                }
                case GELU_TANH -> {
                    for (int i = 0; i < len; i++) s[i] = SQRT_2_OVER_PI * (g[i] + GELU_C * g[i] * g[i] * g[i]);
                    kr.tanh(s, 0, s, 0, len);
                    for (int i = 0; i < len; i++) {
                        float x = g[i], t = s[i];
                        du[i] = d[i] * (0.5f * x * (1f + t));
                        float deriv = 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * SQRT_2_OVER_PI * (1f + 3f * GELU_C * x * x);
                        s[i] = d[i] * u[i] * deriv;
                    }
                }
                default -> {
                    for (int i = 0; i < len; i++) {
                        double gv = g[i], uv = u[i], dv = d[i];
                        s[i] = (float) (dv * uv * ActivationMath.derivative(act, gv));
                        du[i] = (float) (dv * ActivationMath.apply(act, gv));
                    }
                }
            }
            store(s, dGate, start, len);
            store(du, dUp, start, len);
        });
    }

    @Override
    public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
        requireF32(table, out);
        int d = (int) table.dim(1), vocab = (int) table.dim(0);
        for (int r = 0; r < ids.length; r++) {
            int id = ids[r];
            if (id < 0 || id >= vocab) throw new InvalidInputException("token id " + id + " at position " + r + " is outside [0, " + vocab + ")");
        }
        rowChunks(ids.length, d, (r0, rows, buf) -> {
            float[] o = buf.get(0, rows * d);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(table.data(), F32, 4L * ids[r0 + r] * d, o, r * d, d);
                if (scale != 1f) for (int i = r * d; i < (r + 1) * d; i++) o[i] *= scale;
            }
            store(o, out, (long) r0 * d, rows * d);
        });
    }

    @Override
    public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx) {
        requireF32(dOut, dTable);
        int d = (int) dTable.dim(1);
        // rows in token order, one at a time: a repeated id adds its rows in the same order on every run
        Buffers buf = BUFFERS.get();
        float[] g = buf.get(0, d), row = buf.get(1, d);
        for (int r = 0; r < ids.length; r++) {
            if (ids[r] == paddingIdx) continue;
            long dst = (long) ids[r] * d;
            load(dOut, (long) r * d, g, d);
            load(dTable, dst, row, d);
            for (int i = 0; i < d; i++) row[i] = row[i] + g[i] * scale;
            store(row, dTable, dst, d);
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        requireF32(a, b, out);
        chunks(a.numel(), (start, len, buf) -> {
            float[] x = buf.get(0, len), y = buf.get(1, len);
            load(a, start, x, len);
            load(b, start, y, len);
            for (int i = 0; i < len; i++) x[i] += y[i];
            store(x, out, start, len);
        });
    }

    @Override
    public void softcap(Tensor x, float cap) {
        requireF32(x);
        chunks(x.numel(), (start, len, buf) -> {
            float[] v = buf.get(0, len);
            load(x, start, v, len);
            for (int i = 0; i < len; i++) v[i] = cap * (float) Math.tanh(v[i] / cap);
            store(v, x, start, len);
        });
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
        chunks(x.numel(), (start, len, buf) -> {
            float[] v = buf.get(0, len);
            load(x, start, v, len);
            for (int i = 0; i < len; i++) v[i] *= s;
            store(v, x, start, len);
        });
    }

    @Override
    public void dropout(Tensor x, Tensor out, float p, long seed) {
        requireF32(x, out);
        float scale = DropoutMask.scale(p);
        chunks(x.numel(), (start, len, buf) -> {
            float[] v = buf.get(0, len);
            load(x, start, v, len);
            for (int i = 0; i < len; i++) v[i] = DropoutMask.keep(seed, start + i, p) ? v[i] * scale : 0f;
            store(v, out, start, len);
        });
    }

    @Override
    public void dropoutAdd(Tensor x, Tensor out, float p, long seed) {
        requireF32(x, out);
        if (x.data().address() == out.data().address()) throw new IllegalArgumentException("dropoutAdd: x and out are the same tensor");
        float scale = DropoutMask.scale(p);
        chunks(x.numel(), (start, len, buf) -> {
            float[] v = buf.get(0, len), o = buf.get(1, len);
            load(x, start, v, len);
            load(out, start, o, len);
            for (int i = 0; i < len; i++) o[i] += DropoutMask.keep(seed, start + i, p) ? v[i] * scale : 0f;
            store(o, out, start, len);
        });
    }

    @Override
    public void sumOfSquares(Tensor x, Tensor acc) {
        requireF32(x);
        if (acc.dtype() != DType.F64 || acc.numel() != 1) throw new IllegalArgumentException("sumOfSquares accumulates into an f64 [1], got " + acc);
        int chunk = 1 << 16;
        int chunks = (int) ((x.numel() + chunk - 1) / chunk);
        double[] partial = new double[chunks];
        CpuParallel.forEach(chunks, c -> {
            long start = (long) c * chunk;
            int len = (int) Math.min(chunk, x.numel() - start);
            float[] v = BUFFERS.get().get(0, len);
            load(x, start, v, len);
            double sum = 0;
            for (int i = 0; i < len; i++) {
                double e = v[i];
                sum += e * e;
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
        chunks(value.numel(), (start, len, buf) -> {
            float[] gs = buf.get(0, len), ps = buf.get(1, len), ms = buf.get(2, len), vs = buf.get(3, len);
            load(grad, start, gs, len);
            load(value, start, ps, len);
            load(m, start, ms, len);
            load(v, start, vs, len);
            for (int i = 0; i < len; i++) {
                float g = gs[i];
                if (clipped) g = g * clip;
                float p = ps[i] * decay;
                float mi = ms[i];
                mi = lerpLow ? mi + oneMinusBeta1 * (g - mi) : g - (g - mi) * (1f - oneMinusBeta1);   // torch's lerp, both branches
                float vi = vs[i] * beta2 + oneMinusBeta2 * g * g;
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
                ps[i] = p + negStepSize * (mi / denom);
                ms[i] = mi;
                vs[i] = vi;
            }
            store(ms, m, start, len);
            store(vs, v, start, len);
            store(ps, value, start, len);
        });
    }

    @Override
    public LinearCrossEntropy crossEntropy(CceImpl impl) {
        return LinearCrossEntropy.create(impl, Device.CPU);
    }

    /** Elements per chunk of an element-wise pass (64 KiB of f32: a few arrays of it stay in L2). */
    static final int CHUNK = 1 << 14;

    /** Grow-only heap arrays of one thread, by slot. */
    static final class Buffers {
        private final float[][] slots = new float[6][];

        float[] get(int slot, int n) {
            return slots[slot] = Blocks.ensure(slots[slot], n);
        }
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private interface ChunkBody {
        void run(long start, int len, Buffers buf);
    }

    private interface RowsBody {
        void run(int firstRow, int rows, Buffers buf);
    }

    /** Runs body over [0, n) in parallel chunks of at most CHUNK elements. */
    private static void chunks(long n, ChunkBody body) {
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        CpuParallel.forEach(chunks, c -> {
            long start = (long) c * CHUNK;
            body.run(start, (int) Math.min(CHUNK, n - start), BUFFERS.get());
        });
    }

    /** Rows of width d per chunk: about CHUNK elements, at least one row. */
    private static int rowsPerChunk(int d) {
        return Math.max(1, CHUNK / Math.max(1, d));
    }

    /** Runs body over rows [0, m) of width d in parallel chunks of whole rows. */
    private static void rowChunks(int m, int d, RowsBody body) {
        int per = rowsPerChunk(d);
        CpuParallel.forEach(Blocks.ceilDiv(m, per), c -> body.run(c * per, Math.min(per, m - c * per), BUFFERS.get()));
    }

    private static void load(Tensor t, long start, float[] dst, int len) {
        MemorySegment.copy(t.data(), F32, 4 * start, dst, 0, len);
    }

    private static void store(float[] src, Tensor t, long start, int len) {
        MemorySegment.copy(src, 0, t.data(), F32, 4 * start, len);
    }
}
