package org.cce4j.transformer.backend;

import org.cce4j.transformer.model.RopeFrequencies;
import org.cce4j.checkpoints.hf.RopeParameters;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every CudaBackend operation against CpuBackend on fresh random inputs of ragged sizes, in the f32
 * mode and in bf16. The inputs are drawn exactly representable in the mode's storage type, so both
 * backends see the same numbers; what remains is arithmetic order (f32: ~1e-6) and, in bf16, the
 * rounding of outputs and of the attention kernels' bf16 operands P and dS (~2^-9 per element).
 * Outputs are poisoned (NaN) before each GPU call, so an element the kernels skip fails the test.
 * The training operations (scale, dropout, AdamW) do the CPU's f32 operations in the CPU's order with
 * correctly rounded intrinsics, so they are compared bit for bit.
 */
@Tag("gpu")
class CudaBackendTest {
    private final CpuBackend cpu = new CpuBackend();
    private final SplittableRandom rnd = new SplittableRandom(11);

    enum Mode {
        // f32: both sides in f32 with different summation orders and exp/tanh within 2 ulp; the attention
        // gradients sum terms of both signs (dS), which costs a few more bits
        F32(DType.F32, 1e-5, 5e-5), BF16(DType.BF16, 1e-2, 2e-2);

        final DType dtype;
        final double tol, attentionBackwardTol;

        Mode(DType dtype, double tol, double attentionBackwardTol) {
            this.dtype = dtype;
            this.tol = tol;
            this.attentionBackwardTol = attentionBackwardTol;
        }
    }

    private CudaBackend backend(Mode mode) {
        CudaDevice dev = GpuAvailability.require();
        return new CudaBackend(dev, mode.dtype);
    }

    /** A host f32 tensor of N(0, scale²) values rounded to the storage type. */
    private Tensor random(DType storage, double scale, long... shape) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (rnd.nextGaussian() * scale));
        if (storage == DType.F32) return t;
        try (Tensor r = t.to(storage); t) {
            return r.to(DType.F32);
        }
    }

    /** A device tensor of the backend's dtype filled with NaN, so unwritten elements show. */
    private static Tensor poisoned(CudaBackend be, DType dt, long... shape) {
        Tensor t = be.zeros(dt, shape);
        poison(be, t);
        return t;
    }

    /** NaN in every element (bf16's all-ones pattern is a NaN), so that an element a kernel skips shows. */
    private static void poison(CudaBackend be, Tensor t) {
        if (t.dtype() == DType.F32) be.cudaDevice().fill32(t.address(), Float.floatToRawIntBits(Float.NaN), t.numel());
        else be.cudaDevice().memset(t.address(), (byte) 0xff, t.byteSize());
    }

    private static void assertClose(Tensor expected, CudaBackend be, Tensor actual, double tol, String what) {
        try (Tensor got = be.downloadF32(actual)) {
            RelativeError.assertClose(expected.toDoubleArray(), got.toDoubleArray(), tol, what + " (" + be.computeDType().shortName() + ")");
        }
    }

    /** ‖actual − expected‖₂ / ‖scale‖₂ ≤ tol: for a result that is zero in exact arithmetic, against the size of its terms. */
    private static void assertCloseToScale(Tensor expected, CudaBackend be, Tensor actual, Tensor scale, double tol, String what) {
        try (Tensor got = be.downloadF32(actual)) {
            double[] e = expected.toDoubleArray(), a = got.toDoubleArray(), s = scale.toDoubleArray();
            double num = 0, den = 0;
            for (int i = 0; i < e.length; i++) {
                assertTrue(Double.isFinite(a[i]), what + ": element " + i + " is " + a[i]);
                num += (a[i] - e[i]) * (a[i] - e[i]);
            }
            for (double x : s) den += x * x;
            double err = Math.sqrt(num / den);
            assertTrue(err <= tol, what + " (" + be.computeDType().shortName() + "): error " + err + " of the terms' size > " + tol);
        }
    }

    private static Tensor copyOf(Tensor t) {
        return t.to(DType.F32);
    }

    // ---- linear ----------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Mode.class)
    void linearForwardAndBackward(Mode mode) {
        CudaBackend be = backend(mode);
        int m = 37, k = 48, n = 29;
        DType s = mode.dtype;
        try (Tensor x = random(s, 1, m, k); Tensor w = random(s, 0.2, n, k); Tensor b = random(s, 1, n);
             Tensor dy = random(s, 1, m, n); Tensor dx0 = random(s, 1, m, k); Tensor dw0 = random(DType.F32, 1, n, k);
             Tensor db0 = random(DType.F32, 1, n);
             Tensor y = Tensor.zeros(DType.F32, m, n); Tensor dx = copyOf(dx0); Tensor dw = copyOf(dw0); Tensor db = copyOf(db0);
             Tensor gx = be.upload(x, s); Tensor gw = be.upload(w, s); Tensor gb = be.upload(b, s); Tensor gdy = be.upload(dy, s);
             Tensor gy = poisoned(be, s, m, n); Tensor gdx = be.upload(dx0, s); Tensor gdw = be.upload(dw0, DType.F32);
             Tensor gdb = be.upload(db0, DType.F32)) {
            cpu.linear(x, w, b, y);
            be.linear(gx, gw, gb, gy);
            assertClose(y, be, gy, mode.tol, "linear y");
            cpu.linearBackward(dy, x, w, dx, true, dw, db);
            be.linearBackward(gdy, gx, gw, gdx, true, gdw, gdb);
            assertClose(dx, be, gdx, mode.tol, "linear dx (accumulated)");
            assertClose(dw, be, gdw, mode.tol, "linear dw");
            assertClose(db, be, gdb, mode.tol, "linear db");
            cpu.linearBackward(dy, x, w, dx, false, null, null);
            be.linearBackward(gdy, gx, gw, gdx, false, null, null);
            assertClose(dx, be, gdx, mode.tol, "linear dx (overwritten)");
        }
    }

    // ---- normalization ----------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Mode.class)
    void rmsNormForwardAndBackward(Mode mode) {
        CudaBackend be = backend(mode);
        DType s = mode.dtype;
        // {d, rows}: 70 the element-wise kernels; 64 and 2304 the one-pass backward (2304 with enough rows that each
        // warp takes several); 4096 beyond the one-pass kernel's registers in both element types
        for (int[] dm : new int[][] {{70, 19}, {64, 19}, {2304, 2500}, {4096, 33}}) for (boolean unit : new boolean[] {false, true}) {
            int d = dm[0], m = dm[1];
            try (Tensor x = random(s, 2, m, d); Tensor w = random(s, 0.5, d); Tensor dy = random(s, 1, m, d);
                 Tensor residual = random(s, 1, m, d); Tensor dw0 = random(DType.F32, 1, d);
                 Tensor y = Tensor.zeros(DType.F32, m, d); Tensor rstd = Tensor.zeros(DType.F32, m);
                 Tensor dx = Tensor.zeros(DType.F32, m, d); Tensor dw = copyOf(dw0);
                 Tensor gx = be.upload(x, s); Tensor gw = be.upload(w, s); Tensor gdy = be.upload(dy, s);
                 Tensor gres = be.upload(residual, s);
                 Tensor gy = poisoned(be, s, m, d); Tensor grstd = poisoned(be, DType.F32, m);
                 Tensor gdx = poisoned(be, s, m, d); Tensor gdw = be.upload(dw0, DType.F32)) {
                String what = ", d " + d + ", rows " + m + ", unitOffset " + unit;
                cpu.rmsNorm(x, w, 1e-6f, unit, y, rstd);
                be.rmsNorm(gx, gw, 1e-6f, unit, gy, grstd);
                assertClose(y, be, gy, mode.tol, "rmsNorm y" + what);
                assertClose(rstd, be, grstd, 1e-5, "rmsNorm rstd" + what);
                cpu.rmsNormBackward(dy, x, w, rstd, unit, dx, dw);
                be.rmsNormBackward(gdy, gx, gw, grstd, unit, gdx, gdw);
                assertClose(dx, be, gdx, mode.tol, "rmsNorm dx" + what);
                assertClose(dw, be, gdw, mode.tol, "rmsNorm dw" + what);
                // with the residual stream's gradient added: once accumulating dw, once without a weight gradient
                cpu.rmsNormBackwardAdd(dy, x, w, rstd, unit, residual, dx, dw);
                be.rmsNormBackwardAdd(gdy, gx, gw, grstd, unit, gres, gdx, gdw);
                assertClose(dx, be, gdx, mode.tol, "rmsNorm dx + residual" + what);
                assertClose(dw, be, gdw, mode.tol, "rmsNorm dw (second accumulation)" + what);
                poison(be, gdx);
                be.rmsNormBackwardAdd(gdy, gx, gw, grstd, unit, gres, gdx, null);
                assertClose(dx, be, gdx, mode.tol, "rmsNorm dx + residual, no dw" + what);
            }
        }
    }

    // ---- rope ------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Mode.class)
    void ropeAndItsInverse(Mode mode) {
        CudaBackend be = backend(mode);
        DType s = mode.dtype;
        for (int hd : new int[] {10, 64, 256}) {
            RopeTable table = RopeFrequencies.of(RopeParameters.plain(10000), hd, 4096);
            int m = 13, heads = 3;
            int[] pos = new int[m];
            for (int i = 0; i < m; i++) pos[i] = rnd.nextInt(700);
            try (Tensor x = random(s, 1, m, heads * hd); Tensor gx = be.upload(x, s)) {
                cpu.rope(x, heads, table, pos, false);
                be.rope(gx, heads, table, pos, false);
                assertClose(x, be, gx, mode.tol, "rope, head size " + hd);
                cpu.rope(x, heads, table, pos, true);
                be.rope(gx, heads, table, pos, true);
                assertClose(x, be, gx, mode.tol, "inverse rope, head size " + hd);
            }
        }
    }

    // ---- attention -------------------------------------------------------------------------

    /** An attention shape; docSpan > 0 packs documents of about that many tokens, padded adds left padding. */
    record Case(String name, int batch, int seqLen, int heads, int kvHeads, int headDim, float softcap, int window,
                int docSpan, boolean padded) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> attentionCases() {
        List<Case> cases = List.of(
                new Case("causal hd64 T130", 2, 130, 4, 2, 64, 0, 0, 0, false),
                new Case("gqa4 hd16 T37", 2, 37, 4, 1, 16, 0, 0, 0, false),
                new Case("one token hd64", 3, 1, 2, 2, 64, 0, 0, 0, false),
                new Case("softcap+window hd256 T100", 1, 100, 2, 1, 256, 2f, 23, 0, false),
                new Case("hd128 T70 window", 2, 70, 2, 2, 128, 0, 9, 0, false),
                new Case("window hd64 T300", 1, 300, 2, 1, 64, 0, 100, 0, false),
                new Case("packed hd64 T150", 2, 150, 4, 2, 64, 0, 0, 25, false),
                new Case("long documents hd64 T333", 2, 333, 2, 1, 64, 0, 0, 150, false),
                new Case("padded hd64 T200", 2, 200, 2, 1, 64, 0, 0, 0, true),
                new Case("packed+padded+softcap hd16 T90", 2, 90, 2, 2, 16, 3f, 0, 25, true),
                new Case("long documents+padded+window hd256 T260", 1, 260, 2, 2, 256, 0, 150, 120, true),
                new Case("gqa4 softcap hd128 T300", 1, 300, 8, 2, 128, 2f, 0, 0, false),
                new Case("gqa4 hd64 T520 (Llama's heads)", 1, 520, 8, 2, 64, 0, 0, 0, false),
                new Case("packed+padded+window gqa2 hd96 T400", 2, 400, 4, 2, 96, 0, 70, 90, true),
                new Case("gqa2 softcap hd256 T300 (Gemma's heads)", 2, 300, 4, 2, 256, 2f, 0, 0, false),
                new Case("packed+padded gqa3 hd192 T200", 1, 200, 3, 1, 192, 0, 0, 60, true),
                new Case("packed hd32 T200", 1, 200, 2, 1, 32, 0, 0, 40, false),
                new Case("softcap+window+padded gqa2 hd48 T270", 2, 270, 4, 2, 48, 2f, 80, 0, true),
                new Case("simt head 8", 2, 45, 4, 2, 8, 0, 5, 25, true),
                new Case("simt head 24", 1, 40, 2, 1, 24, 2f, 0, 0, false));
        List<Arguments> args = new ArrayList<>();
        for (Mode m : Mode.values()) {
            for (Case c : cases) {
                if (m == Mode.BF16 && c.headDim() % 16 == 0) {
                    if (CudaAttention.fusedCovers(c.headDim())) args.add(Arguments.of(m, c, Kernels.FUSED_BACKWARD));
                    args.add(Arguments.of(m, c, Kernels.WIDE_FORWARD));
                    if (c.headDim() <= CudaAttention.PAIR_FORWARD_MAX_HEAD) {
                        args.add(Arguments.of(m, c, Kernels.PAIR_FORWARD));
                        args.add(Arguments.of(m, c, Kernels.PAIR64_FORWARD));
                    }
                    if (CudaAttention.wgmmaCovers(c.headDim())) args.add(Arguments.of(m, c, Kernels.WGMMA_FORWARD));
                    if (c.headDim() <= CudaAttention.FUSED_MAX_HEAD) {
                        args.add(Arguments.of(m, c, Kernels.THREE_STAGES_FUSED));
                        args.add(Arguments.of(m, c, Kernels.FOUR_STAGES_SPLIT));
                    }
                    args.add(Arguments.of(m, c, Kernels.SIMT));
                    // the shape with placeholder documents and padding where the case has them: only their presence matters
                    if (CudnnAttention.covers(shapeOf(c, c.docSpan() > 0 ? new int[0] : null, c.padded() ? new boolean[0] : null))) {
                        args.add(Arguments.of(m, c, Kernels.CUDNN));
                        args.add(Arguments.of(m, c, Kernels.CUDNN_THEN_FUSED));
                        args.add(Arguments.of(m, c, Kernels.FUSED_THEN_CUDNN));
                    }
                } else {
                    args.add(Arguments.of(m, c, Kernels.FUSED_BACKWARD)); // f32 and odd heads: the SIMT kernels whatever is asked
                }
            }
        }
        return args.stream();
    }

    /**
     * The attention kernels a case runs: tensor cores with the fused backward (where it applies) after the
     * 64-query forward, tensor cores with the split backward after the 128-query forward (where it
     * applies), the paired forward (32 rows per warp, up to head size 64) in steps of 32 keys before the
     * fused backward or of 64 keys before the split one, the first two pairings again with three and
     * four buffers of streamed tiles (CCE4J_ATTN_STAGES, up to head size 128), the wgmma forward (sm_90; head
     * sizes 64, 128, 256; elsewhere the 128-query kernel) before the fused backward, or SIMT. Each new kernel is
     * paired with an established one, so that a fault in one cannot hide the other (the backward reads the
     * forward's output). cuDNN's fused attention (CCE4J_ATTN_CUDNN=on: an error if cuDNN refuses the shape)
     * runs both passes, the forward before our fused backward, and our forward before its backward (the lse
     * is the same quantity in the same layout on both sides).
     */
    enum Kernels {
        FUSED_BACKWARD, WIDE_FORWARD, PAIR_FORWARD, PAIR64_FORWARD, THREE_STAGES_FUSED, FOUR_STAGES_SPLIT, WGMMA_FORWARD, SIMT,
        CUDNN, CUDNN_THEN_FUSED, FUSED_THEN_CUDNN
    }

    private static AttentionShape shapeOf(Case c, int[] docs, boolean[] mask) {
        return new AttentionShape(c.batch(), c.seqLen(), c.heads(), c.kvHeads(), c.headDim(), (float) (1 / Math.sqrt(c.headDim())),
                c.softcap(), c.window(), docs, mask);
    }

    private AttentionShape shape(Case c) {
        int n = c.batch() * c.seqLen();
        int[] docs = null;
        boolean[] mask = null;
        if (c.docSpan() > 0) {
            docs = new int[n];
            for (int b = 0; b < c.batch(); b++) {
                int doc = 0;
                for (int i = 0; i < c.seqLen(); i++) {
                    if (i > 0 && rnd.nextInt(c.docSpan()) == 0) doc++;
                    docs[b * c.seqLen() + i] = doc;
                }
            }
        }
        if (c.padded()) {
            mask = new boolean[n];
            for (int b = 0; b < c.batch(); b++) {
                int pad = rnd.nextInt(Math.max(1, c.seqLen() / 3)) + 1; // left padding: the first rows see no key at all
                for (int i = 0; i < c.seqLen(); i++) mask[b * c.seqLen() + i] = i >= pad;
            }
        }
        return shapeOf(c, docs, mask);
    }

    private static CudnnAttention.Mode cudnn(boolean on) {
        return on ? CudnnAttention.Mode.ON : CudnnAttention.Mode.OFF;
    }

    @ParameterizedTest(name = "{0} {1} kernels {2}")
    @MethodSource("attentionCases")
    void attentionForwardAndBackward(Mode mode, Case c, Kernels kernels) {
        CudaBackend be = backend(mode);
        be.setTensorCoreAttention(kernels != Kernels.SIMT);
        be.setFusedAttentionBackward(kernels == Kernels.FUSED_BACKWARD || kernels == Kernels.PAIR_FORWARD
                || kernels == Kernels.THREE_STAGES_FUSED || kernels == Kernels.WGMMA_FORWARD || kernels == Kernels.CUDNN_THEN_FUSED);
        be.setCudnnAttention(cudnn(kernels == Kernels.CUDNN || kernels == Kernels.CUDNN_THEN_FUSED));
        be.setWgmmaAttentionForward(kernels == Kernels.WGMMA_FORWARD);
        be.setWideAttentionForward(kernels == Kernels.WIDE_FORWARD || kernels == Kernels.FOUR_STAGES_SPLIT);
        be.setAttentionStages(kernels == Kernels.THREE_STAGES_FUSED ? 3 : kernels == Kernels.FOUR_STAGES_SPLIT ? 4 : 2);
        be.setPairAttentionForward(kernels == Kernels.PAIR_FORWARD ? 32 : kernels == Kernels.PAIR64_FORWARD ? 64 : 0);
        DType s = mode.dtype;
        AttentionShape sh = shape(c);
        long m = sh.tokens(), qw = (long) c.heads() * c.headDim(), kw = (long) c.kvHeads() * c.headDim();
        double qScale = c.softcap() > 0 ? 3 : 1;
        try (Tensor q = random(s, qScale, m, qw); Tensor k = random(s, 1, m, kw); Tensor v = random(s, 1, m, kw);
             Tensor dOut = random(s, 1, m, qw);
             Tensor out = Tensor.zeros(DType.F32, m, qw); Tensor lse = Tensor.zeros(DType.F32, m, c.heads());
             Tensor dq = Tensor.zeros(DType.F32, m, qw); Tensor dk = Tensor.zeros(DType.F32, m, kw); Tensor dv = Tensor.zeros(DType.F32, m, kw);
             Tensor gq = be.upload(q, s); Tensor gk = be.upload(k, s); Tensor gv = be.upload(v, s); Tensor gdOut = be.upload(dOut, s);
             Tensor gout = poisoned(be, s, m, qw); Tensor glse = poisoned(be, DType.F32, m, c.heads());
             Tensor gdq = poisoned(be, s, m, qw); Tensor gdk = poisoned(be, s, m, kw); Tensor gdv = poisoned(be, s, m, kw)) {
            cpu.attention(sh, q, k, v, out, lse);
            be.attention(sh, gq, gk, gv, gout, glse);
            assertClose(out, be, gout, mode.tol, c + " out");
            assertLseClose(lse, be.downloadF32(glse), c + " lse");
            // the backward reads the backend's own forward output, as the model does
            try (Tensor ourOut = be.downloadF32(gout)) {
                cpu.attentionBackward(sh, q, k, v, ourOut, lse, dOut, dq, dk, dv);
            }
            be.setCudnnAttention(cudnn(kernels == Kernels.CUDNN || kernels == Kernels.FUSED_THEN_CUDNN));
            be.attentionBackward(sh, gq, gk, gv, gout, glse, gdOut, gdq, gdk, gdv);
            if (c.seqLen() == 1) {
                // each query sees one key: P = 1 and dS = P·(dP − δ) = 0 exactly, so dq and dk are rounding noise on
                // both sides and a relative error to the CPU's noise means nothing; measure them against dv (= dO
                // here), the size of the terms dP and δ are formed from
                assertCloseToScale(dq, be, gdq, dv, mode.attentionBackwardTol, c + " dq");
                assertCloseToScale(dk, be, gdk, dv, mode.attentionBackwardTol, c + " dk");
            } else {
                assertClose(dq, be, gdq, mode.attentionBackwardTol, c + " dq");
                assertClose(dk, be, gdk, mode.attentionBackwardTol, c + " dk");
            }
            assertClose(dv, be, gdv, mode.attentionBackwardTol, c + " dv");
        }
    }

    /**
     * Generation's decode attention (one query over a cache) against the CPU's: GQA, softcap, head sizes
     * that are not multiples of 32, fewer keys than the kernel's 8 warps, and many. The cache rows past
     * {@code keys} are NaN, so a kernel that reads them fails.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void decodeAttentionOverACache(Mode mode) {
        CudaBackend be = backend(mode);
        DType s = mode.dtype;
        int[][] cases = {  // heads, kvHeads, headDim, keys, capacity, softcap
                {4, 2, 16, 1, 8, 0}, {4, 2, 16, 5, 8, 0}, {8, 2, 64, 300, 320, 5}, {2, 2, 256, 70, 70, 0},
                {6, 3, 24, 130, 200, 0}, {4, 1, 128, 1000, 1024, 2}};
        for (int[] c : cases) {
            int heads = c[0], kvHeads = c[1], hd = c[2], keys = c[3], capacity = c[4];
            DecodeShape sh = new DecodeShape(heads, kvHeads, hd, (float) (1 / Math.sqrt(hd)), c[5], keys);
            String what = "decode " + heads + "/" + kvHeads + " heads of " + hd + ", " + keys + " of " + capacity + " keys, softcap " + c[5];
            try (Tensor q = random(s, c[5] > 0 ? 3 : 1, 1, heads * hd); Tensor k = random(s, 1, keys, kvHeads * hd);
                 Tensor v = random(s, 1, keys, kvHeads * hd); Tensor out = Tensor.zeros(DType.F32, 1, heads * hd);
                 Tensor gq = be.upload(q, s); Tensor gk = poisoned(be, s, capacity, kvHeads * hd); Tensor gv = poisoned(be, s, capacity, kvHeads * hd);
                 Tensor gout = poisoned(be, s, 1, heads * hd)) {
                be.copy(k, gk.slice(0, keys));
                be.copy(v, gv.slice(0, keys));
                cpu.decodeAttention(sh, q, k, v, out);
                be.decodeAttention(sh, gq, gk, gv, gout);
                assertClose(out, be, gout, mode.tol, what);
            }
        }
    }

    /** Same rows without any visible key (−inf), the others within 1e-5 relative. */
    private static void assertLseClose(Tensor expected, Tensor actual, String what) {
        try (actual) {
            List<Double> e = new ArrayList<>(), a = new ArrayList<>();
            for (long i = 0; i < expected.numel(); i++) {
                float x = expected.getFloat(i), y = actual.getFloat(i);
                assertEquals(x == Float.NEGATIVE_INFINITY, y == Float.NEGATIVE_INFINITY, what + ": row " + i + " is " + y + ", expected " + x);
                if (x != Float.NEGATIVE_INFINITY) {
                    e.add((double) x);
                    a.add((double) y);
                }
            }
            RelativeError.assertClose(e.stream().mapToDouble(Double::doubleValue).toArray(),
                    a.stream().mapToDouble(Double::doubleValue).toArray(), 1e-3, what);
        }
    }

    // ---- element-wise ------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Mode.class)
    void gatedActivations(Mode mode) {
        CudaBackend be = backend(mode);
        DType s = mode.dtype;
        for (int n : new int[] {1003, 1024}) for (Activation act : Activation.values()) { // 1024: the 16-byte vector path
            try (Tensor gate = random(s, 2, n); Tensor up = random(s, 1, n); Tensor dOut = random(s, 1, n);
                 Tensor out = Tensor.zeros(DType.F32, n); Tensor dGate = Tensor.zeros(DType.F32, n); Tensor dUp = Tensor.zeros(DType.F32, n);
                 Tensor gg = be.upload(gate, s); Tensor gu = be.upload(up, s); Tensor gd = be.upload(dOut, s);
                 Tensor gout = poisoned(be, s, n); Tensor gdg = poisoned(be, s, n); Tensor gdu = poisoned(be, s, n)) {
                cpu.gatedActivation(act, gate, up, out);
                be.gatedActivation(act, gg, gu, gout);
                assertClose(out, be, gout, mode.tol, act + " forward, n " + n);
                cpu.gatedActivationBackward(act, gate, up, dOut, dGate, dUp);
                be.gatedActivationBackward(act, gg, gu, gd, gdg, gdu);
                assertClose(dGate, be, gdg, mode.tol, act + " dGate, n " + n);
                assertClose(dUp, be, gdu, mode.tol, act + " dUp, n " + n);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void embeddingForwardAndScatterAdd(Mode mode) {
        CudaBackend be = backend(mode);
        DType s = mode.dtype;
        int vocab = 11, d = 33, rows = 50;
        int[] ids = new int[rows];
        for (int i = 0; i < rows; i++) ids[i] = rnd.nextInt(vocab);
        try (Tensor table = random(s, 1, vocab, d); Tensor dOut = random(s, 1, rows, d); Tensor dTable0 = random(DType.F32, 1, vocab, d);
             Tensor out = Tensor.zeros(DType.F32, rows, d); Tensor dTable = copyOf(dTable0);
             Tensor gt = be.upload(table, s); Tensor gd = be.upload(dOut, s); Tensor gout = poisoned(be, s, rows, d);
             Tensor gdt = be.upload(dTable0, DType.F32)) {
            cpu.embedding(ids, table, 1.7f, out);
            be.embedding(ids, gt, 1.7f, gout);
            assertClose(out, be, gout, mode.tol, "embedding");
            cpu.embeddingBackward(ids, dOut, 1.7f, dTable, ids[0]);   // a padding_idx that occurs: its row gets nothing
            be.embeddingBackward(ids, gd, 1.7f, gdt, ids[0]);
            assertClose(dTable, be, gdt, 1e-5, "embedding backward");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void addSoftcapAndCopy(Mode mode) {
        CudaBackend be = backend(mode);
        DType s = mode.dtype;
        for (int n : new int[] {777, 256}) // 256 rows of 3: the 16-byte vector path
        try (Tensor a = random(s, 1, 3, n); Tensor b = random(s, 1, 3, n); Tensor x = random(s, 20, n);
             Tensor sum = Tensor.zeros(DType.F32, 3, n);
             Tensor ga = be.upload(a, s); Tensor gb = be.upload(b, s); Tensor gx = be.upload(x, s); Tensor gsum = poisoned(be, s, 3, n)) {
            cpu.add(a, b, sum);
            be.add(ga, gb, gsum);
            assertClose(sum, be, gsum, mode.tol, "add");
            be.add(ga, gb, ga); // out aliasing an input
            assertClose(sum, be, ga, mode.tol, "add in place");
            cpu.softcap(x, 5f);
            be.softcap(gx, 5f);
            assertClose(x, be, gx, mode.tol, "softcap");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 1000, 4099})
    void copyConvertsBetweenF32AndBf16(int n) {
        CudaBackend be = backend(Mode.BF16);
        try (Tensor x = random(DType.F32, 3, n); Tensor rounded = x.to(DType.BF16); Tensor expected = rounded.to(DType.F32);
             Tensor g32 = be.upload(x, DType.F32); Tensor g16 = poisoned(be, DType.BF16, n); Tensor back = poisoned(be, DType.F32, n);
             Tensor host = Tensor.zeros(DType.F32, n)) {
            be.copy(g32, g16);
            be.copy(g16, back);
            be.copy(back, host);
            for (int i = 0; i < n; i++) assertEquals(expected.getFloat(i), host.getFloat(i), "element " + i + " of f32 → bf16 → f32");
        }
    }

    // ---- training ----------------------------------------------------------------------------

    /** Ragged sizes: one block and change, and a million and change (many blocks, a partial last one). */
    private static final int[] TRAINING_SIZES = {1003, 1024 * 1024 + 5};
    /** With lengths that take the 16-byte vector kernels (a multiple of 8 elements) and those that cannot. */
    private static final int[] ELEMENTWISE_SIZES = {1003, 4096, 1024 * 1024 + 5, 1024 * 1024};

    /** The mode's storage type, and f32 where that differs (LoRA keeps f32 tensors in bf16 mode too). */
    private static List<DType> storages(Mode mode) {
        return mode.dtype == DType.F32 ? List.of(DType.F32) : List.of(mode.dtype, DType.F32);
    }

    /**
     * Every element of a device tensor equal, bit for bit, to the host f32 {@code expected} rounded to the
     * device tensor's dtype (the kernels round their f32 result once, to nearest even, as Tensor.to does).
     */
    private static void assertBitwise(Tensor expected, CudaBackend be, Tensor actual, String what) {
        try (Tensor rounded = expected.to(actual.dtype()); Tensor want = rounded.to(DType.F32); Tensor got = be.downloadF32(actual)) {
            long differ = 0, first = -1;
            for (long i = 0; i < want.numel(); i++) {
                if (Float.floatToRawIntBits(want.getFloat(i)) != Float.floatToRawIntBits(got.getFloat(i))) {
                    if (first < 0) first = i;
                    differ++;
                }
            }
            if (differ > 0) {
                throw new AssertionError(what + ": " + differ + " of " + want.numel() + " elements differ; the first, " + first + ", is "
                        + got.getFloat(first) + ", expected " + want.getFloat(first));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void scaleIsTheCpusProduct(Mode mode) {
        CudaBackend be = backend(mode);
        for (int n : TRAINING_SIZES) for (DType s : storages(mode)) {
            try (Tensor x = random(s, 1, n); Tensor gx = be.upload(x, s)) {
                cpu.scale(x, 0.3712f);
                be.scale(gx, 0.3712f);
                assertBitwise(x, be, gx, "scale, " + s.shortName() + ", n " + n);
            }
        }
    }

    /** The CPU's mask (DropoutMask) and scaling, element for element; out poisoned, then in place as the backward runs it. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void dropoutDrawsTheCpusMask(Mode mode) {
        CudaBackend be = backend(mode);
        long seed = 0xDEADBEEFCAFEBABEL; // negative: the u64 arithmetic must wrap as Java's does
        for (int n : ELEMENTWISE_SIZES) for (DType s : storages(mode)) for (float p : new float[] {0f, 0.1f, 0.5f}) {
            String what = "dropout p " + p + ", " + s.shortName() + ", n " + n;
            try (Tensor x = random(s, 1, n); Tensor out = Tensor.zeros(DType.F32, n);
                 Tensor gx = be.upload(x, s); Tensor gout = poisoned(be, s, n)) {
                cpu.dropout(x, out, p, seed);
                be.dropout(gx, gout, p, seed);
                assertBitwise(out, be, gout, what);
                be.dropout(gx, gx, p, seed);
                assertBitwise(out, be, gx, what + " (in place)");
            }
        }
    }

    /**
     * dropoutAdd equals dropout into a temporary followed by add, bit for bit, in every storage type (both
     * halves are held to the CPU above and below), and in f32 the CPU's dropoutAdd itself.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void dropoutAddIsDropoutThenAdd(Mode mode) {
        CudaBackend be = backend(mode);
        long seed = 0x5EEDF00DL;
        for (int n : ELEMENTWISE_SIZES) for (DType s : storages(mode)) for (float p : new float[] {0f, 0.05f, 0.5f}) {
            String what = "dropoutAdd p " + p + ", " + s.shortName() + ", n " + n;
            try (Tensor x = random(s, 1, n); Tensor acc = random(s, 1, n);
                 Tensor gx = be.upload(x, s); Tensor gacc = be.upload(acc, s); Tensor gwant = be.upload(acc, s); Tensor tmp = poisoned(be, s, n)) {
                be.dropoutAdd(gx, gacc, p, seed);
                if (s == mode.dtype) {   // add runs in the backend's compute dtype only
                    be.dropout(gx, tmp, p, seed);
                    be.add(gwant, tmp, gwant);
                    try (Tensor want = be.downloadF32(gwant)) {
                        assertBitwise(want, be, gacc, what + " against dropout then add");
                    }
                }
                if (s == DType.F32) {
                    cpu.dropoutAdd(x, acc, p, seed);
                    assertBitwise(acc, be, gacc, what + " against the CPU");
                }
            }
        }
    }

    /**
     * Into an accumulator holding 2.5 already, twice. Both sides sum in f64 with error at most about
     * (longest chain of additions)·2⁻⁵³ relative: 2¹⁶ on the CPU (its chunks), less on the GPU; 1e-10
     * covers both and rejects any f32 accumulation (≥ 1e-7) or a skipped element (1e-6 of a million).
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void sumOfSquaresIsTheCpusSum(Mode mode) {
        CudaBackend be = backend(mode);
        for (int n : TRAINING_SIZES) {
            try (Tensor x = random(DType.F32, 3, n); Tensor acc = Tensor.zeros(DType.F64, 1)) {
                acc.setDouble(0, 2.5);
                try (Tensor gx = be.upload(x, DType.F32); Tensor gacc = be.upload(acc, DType.F64)) {
                    for (int round = 1; round <= 2; round++) {
                        cpu.sumOfSquares(x, acc);
                        be.sumOfSquares(gx, gacc);
                        try (Tensor got = be.download(gacc)) {
                            double want = acc.getDouble(0), err = Math.abs(got.getDouble(0) - want) / want;
                            assertTrue(err <= 1e-10, "sum of squares, n " + n + ", round " + round + ": " + got.getDouble(0)
                                    + " vs the CPU's " + want + ", relative " + err);
                        }
                    }
                }
            }
        }
    }

    /**
     * 2³⁰ + 7 copies of 0.1f (4 GiB): the exact sum is n·(0.1f)² (one f64 rounding), and an f32
     * accumulation would be off by percents. Each thread adds its ⌈n / (blocks·256)⌉ squares, the block
     * 8 levels of its tree, the accumulator one term per block, each addition within 2⁻⁵³ relative (all
     * terms positive): twice that chain length times 2⁻⁵³ bounds the error, about 1e-12.
     */
    @Test
    void sumOfSquaresOfABillionElementsStaysExact() {
        CudaBackend be = backend(Mode.F32);
        long n = (1L << 30) + 7;
        assumeTrue(be.cudaDevice().totalMemory() > 3 * 4 * n, "a 4 GiB tensor does not fit comfortably on this device");
        float x = 0.1f;
        try (Tensor gx = be.empty(DType.F32, n); Tensor gacc = be.zeros(DType.F64, 1)) {
            be.cudaDevice().fill32(gx.address(), Float.floatToRawIntBits(x), n);
            be.sumOfSquares(gx, gacc);
            try (Tensor got = be.download(gacc)) {
                double want = n * ((double) x * x);
                long blocks = CudaKernels.reductionBlocks(n);
                long chain = (n + blocks * CudaKernels.THREADS - 1) / (blocks * CudaKernels.THREADS) + 8 + blocks;
                double err = Math.abs(got.getDouble(0) - want) / want, tol = 2 * chain * 0x1p-53;
                assertTrue(err <= tol, "sum of " + n + " squares: " + got.getDouble(0) + " vs " + want + ", relative " + err + " > " + tol);
            }
        }
    }

    /** No sum given; a sum with maxGradNorm 0 (off); maxGradNorm far above the norm; below it. */
    enum Clipping { NONE, ZERO_MAX_NORM, INACTIVE, ACTIVE }

    record AdamCase(String name, double beta1, double weightDecay, double eps, Clipping clipping) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> adamwCases() {
        List<AdamCase> cases = List.of(
                new AdamCase("no clipping, decay", 0.9, 0.1, 1e-8, Clipping.NONE),
                new AdamCase("clipping inactive, beta1 0.3 (torch's other lerp branch)", 0.3, 0, 1e-8, Clipping.INACTIVE),
                new AdamCase("sum given, maxGradNorm 0", 0.9, 0.1, 1e-4, Clipping.ZERO_MAX_NORM),
                new AdamCase("clipping active, eps 1e-4", 0.9, 0.01, 1e-4, Clipping.ACTIVE),
                new AdamCase("clipping active, beta1 0.3", 0.3, 0.1, 1e-4, Clipping.ACTIVE));
        List<Arguments> args = new ArrayList<>();
        for (Mode m : Mode.values()) for (AdamCase c : cases) args.add(Arguments.of(m, c));
        return args.stream();
    }

    /**
     * Three steps on fresh gradients of mixed scales (some near eps), against CpuBackend's, bit for bit:
     * in f32 mode the f32 value itself; in bf16 mode the f32 master (value poisoned first: it is only
     * written), and value = bf16(master) exactly. The squared norm is the CPU's, uploaded, so both sides
     * derive the same clipping factor from the same f64 (the kernel computes it, the CPU AdamWStep).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("adamwCases")
    void adamwIsTheCpusUpdate(Mode mode, AdamCase c) {
        CudaBackend be = backend(mode);
        boolean withMaster = mode.dtype == DType.BF16;
        for (int n : TRAINING_SIZES) {
            double[] scale = new double[n];
            for (int i = 0; i < n; i++) scale[i] = Math.pow(10, -4 * rnd.nextDouble());
            try (Tensor p = random(DType.F32, 1, n); Tensor m = Tensor.zeros(DType.F32, n); Tensor v = Tensor.zeros(DType.F32, n);
                 Tensor gm = be.zeros(DType.F32, n); Tensor gv = be.zeros(DType.F32, n);
                 Tensor gmaster = withMaster ? be.upload(p, DType.F32) : null;
                 Tensor gvalue = withMaster ? poisoned(be, DType.BF16, n) : be.upload(p, DType.F32)) {
                double maxGradNorm = 0;
                for (int t = 1; t <= 3; t++) {
                    String what = c + ", n " + n + ", step " + t;
                    try (Tensor g = Tensor.zeros(DType.F32, n); Tensor sum = Tensor.zeros(DType.F64, 1)) {
                        for (int i = 0; i < n; i++) g.setFloat(i, (float) (rnd.nextGaussian() * scale[i]));
                        cpu.sumOfSquares(g, sum);
                        double norm = Math.sqrt(sum.getDouble(0));
                        if (t == 1) maxGradNorm = switch (c.clipping()) {
                            case NONE -> 1.0;
                            case ZERO_MAX_NORM -> 0;
                            case INACTIVE -> 1e6;
                            case ACTIVE -> 0.3 * norm;
                        };
                        AdamWStep st = new AdamWStep(1e-2, c.beta1(), 0.999, c.eps(), c.weightDecay(), t, maxGradNorm);
                        float clip = st.clipFactor(sum.getDouble(0));
                        if (c.clipping() == Clipping.ACTIVE) assertTrue(clip < 0.5f, what + ": clipping is not active (" + clip + ")");
                        if (c.clipping() == Clipping.INACTIVE || c.clipping() == Clipping.ZERO_MAX_NORM) {
                            assertEquals(1f, clip, what + ": clipping is active");
                        }
                        boolean given = c.clipping() != Clipping.NONE;
                        try (Tensor gg = be.upload(g, DType.F32); Tensor gsum = be.upload(sum, DType.F64)) {
                            cpu.adamw(p, null, g, m, v, given ? sum : null, st);
                            be.adamw(gvalue, gmaster, gg, gm, gv, given ? gsum : null, st);
                        }
                    }
                    assertBitwise(m, be, gm, what + ": m");
                    assertBitwise(v, be, gv, what + ": v");
                    if (withMaster) assertBitwise(p, be, gmaster, what + ": master");
                    assertBitwise(p, be, gvalue, what + (withMaster ? ": value = bf16(master)" : ": value"));
                }
            }
        }
    }
}
