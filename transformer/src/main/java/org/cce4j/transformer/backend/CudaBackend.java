package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.Cublas;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The GPU backend: activations and weights stored in bf16 (or f32, the parity mode), every sum and
 * every matrix accumulator in f32, parameter gradients in f32. Linear layers are cuBLAS GemmEx calls
 * (dW accumulated straight into the f32 gradient with beta = 1); the rest are our kernels
 * (norm.cu, elementwise.cu, attention_*.cu, optimizer.cu), all queued on the device's one stream, so
 * nothing here waits for the GPU except uploads of a new batch's arrays and downloads (the optimizer's
 * clipping factor is read from the device scalar by the AdamW kernel itself).
 */
public final class CudaBackend implements Backend {
    private final CudaDevice dev;
    private final DType dtype;
    private final CudaKernels k;
    private final DeviceArrays arrays;
    private final CudaAttention attention;
    private final Map<RopeTable, RopeBuffers> ropes = new IdentityHashMap<>();

    /** cos and sin of positions [0, positions) for one RoPE table, [positions, headDim/2] each. */
    private record RopeBuffers(int positions, DeviceBuffer cos, DeviceBuffer sin) {}

    public CudaBackend(CudaDevice dev, DType computeDType) {
        if (computeDType != DType.F32 && computeDType != DType.BF16) {
            throw new InvalidInputException("the CUDA backend computes in bf16 or f32, not " + computeDType.shortName());
        }
        this.dev = dev;
        this.dtype = computeDType;
        this.k = new CudaKernels(dev);
        this.arrays = new DeviceArrays(dev);
        this.attention = new CudaAttention(k, arrays, computeDType);
    }

    public CudaDevice cudaDevice() {
        return dev;
    }

    /** Tensor-core attention where it applies (bf16, head size a multiple of 16), or the SIMT kernels everywhere (for tests). */
    public void setTensorCoreAttention(boolean on) {
        attention.tensorCores = on;
    }

    /** The fused tensor-core attention backward where it applies, or the split one (CCE4J_ATTN_BWD; for tests). */
    void setFusedAttentionBackward(boolean on) {
        attention.fusedBackward = on;
    }

    /** The tensor-core forward with 128 queries per CTA where it applies, or 64 (CCE4J_ATTN_FWD; for tests). */
    void setWideAttentionForward(boolean on) {
        attention.wideForward = on;
    }

    /** The wgmma forward where it applies (sm_90, head sizes 64, 128, 256), or the others' choice (CCE4J_ATTN_FWD=wgmma; for tests). */
    void setWgmmaAttentionForward(boolean on) {
        attention.wgmmaForward = on;
    }

    /** cuDNN's fused attention where it covers the call: AUTO, ON (an error where cuDNN refuses) or OFF (CCE4J_ATTN_CUDNN; for tests). */
    void setCudnnAttention(CudnnAttention.Mode mode) {
        attention.cudnnMode = mode;
    }

    /**
     * Whether causal attention that cuDNN's fused engine covers goes to it (the default, where libcudnn.so.9
     * is installed) or always to our own kernels (tests calibrated on our kernels' rounding pin this).
     */
    public void useCudnnAttention(boolean on) {
        attention.cudnnMode = on ? CudnnAttention.modeFromEnv(System.getenv("CCE4J_ATTN_CUDNN")) : CudnnAttention.Mode.OFF;
    }

    /** Why cuDNN last refused an attention shape (our kernels ran it instead), or null. */
    public String cudnnAttentionRefusal() {
        return attention.cudnnRefusal();
    }

    /** Buffers of the attention kernels' streamed tiles up to head size 128, 2 to 4 (CCE4J_ATTN_STAGES; for tests). */
    void setAttentionStages(int stages) {
        attention.stages = stages;
    }

    /**
     * The paired tensor-core forward (32 rows per warp) with online-softmax steps of keysPerStep keys (32
     * or 64) where it applies, or with 0 the one setWideAttentionForward picks (CCE4J_ATTN_FWD=pair|pair64;
     * for tests).
     */
    void setPairAttentionForward(int keysPerStep) {
        if (keysPerStep != 0 && keysPerStep != 32 && keysPerStep != 64) {
            throw new IllegalArgumentException("the paired forward takes steps of 32 or 64 keys, not " + keysPerStep);
        }
        attention.pairForward = keysPerStep != 0;
        if (keysPerStep != 0) attention.pairKeys = keysPerStep;
    }

    @Override
    public Device device() {
        return dev.device();
    }

    @Override
    public DType computeDType() {
        return dtype;
    }

    @Override
    public Tensor zeros(DType dt, long... shape) {
        return dev.zeros(dt, shape);
    }

    @Override
    public Tensor empty(DType dt, long... shape) {
        return dev.empty(dt, shape);
    }

    @Override
    public Tensor upload(Tensor host, DType dt) {
        if (!host.device().isCpu()) throw new IllegalArgumentException("upload of " + host + ": not a host tensor");
        if (host.dtype() == dt) return dev.upload(host);
        try (Tensor converted = host.to(dt)) {
            return dev.upload(converted);
        }
    }

    @Override
    public Tensor downloadF32(Tensor t) {
        if (t.device().isCpu()) return t.to(DType.F32);
        Tensor host = dev.download(t);
        if (host.dtype() == DType.F32) return host;
        try (host) {
            return host.to(DType.F32);
        }
    }

    private static int rows(Tensor t) {
        return Math.toIntExact(t.numel() / t.dim(-1));
    }

    /** Every tensor given is on this device in the compute dtype. */
    private void require(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) continue;
            if (t.dtype() != dtype || !t.device().equals(dev.device())) {
                throw new IllegalArgumentException(op + ": expected " + dtype.shortName() + " on " + dev.device() + ", got " + t);
            }
        }
    }

    private void requireF32(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) continue;
            if (t.dtype() != DType.F32 || !t.device().equals(dev.device())) {
                throw new IllegalArgumentException(op + ": expected f32 on " + dev.device() + ", got " + t);
            }
        }
    }

    /** Whether n elements of every tensor given can move as 16-byte vectors (the *_vec kernels, vec flags). */
    private boolean vectors(long n, Tensor... ts) {
        if (n % (16 / dtype.byteSize()) != 0) return false;
        for (Tensor t : ts) if (t != null && (t.address() & 15) != 0) return false;
        return true;
    }

    // ---- linear ----------------------------------------------------------------------------

    @Override
    public void linear(Tensor x, Tensor w, Tensor b, Tensor y) {
        require("linear", x, w, b, y);
        int m = rows(x), kk = (int) x.dim(-1), n = (int) w.dim(0);
        Cublas blas = dev.cublas();
        blas.gemm(false, true, m, n, kk, 1f, x.address(), dtype, kk, w.address(), dtype, kk, 0f, y.address(), dtype, n);
        if (b != null) {
            long total = (long) m * n;
            k.kernel("elementwise.cu", dtype, "bias_add").launch(CudaKernels.elementBlocks(total), 1, CudaKernels.THREADS, 0,
                    y.address(), b.address(), total, n);
        }
    }

    @Override
    public void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean accumulateDx, Tensor dw, Tensor db) {
        require("linearBackward", dy, x, w, dx);
        requireF32("linearBackward (parameter gradients)", dw, db);
        int m = rows(x), kk = (int) x.dim(-1), n = (int) w.dim(0);
        Cublas blas = dev.cublas();
        if (dx != null) {
            blas.gemm(false, false, m, kk, n, 1f, dy.address(), dtype, n, w.address(), dtype, kk, accumulateDx ? 1f : 0f,
                    dx.address(), dtype, kk);
        }
        if (dw != null) {
            blas.gemm(true, false, n, kk, m, 1f, dy.address(), dtype, n, x.address(), dtype, kk, 1f, dw.address(), DType.F32, kk);
        }
        if (db != null) {
            CudaKernels.ColumnGrid g = CudaKernels.ColumnGrid.of(m, n);
            k.kernel("elementwise.cu", dtype, "bias_grad").launch(g.blocksX(), g.blocksY(), g.threads(), 0,
                    dy.address(), db.address(), m, n, g.chunk());
        }
    }

    // ---- normalization ----------------------------------------------------------------------

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, boolean unitOffset, Tensor y, Tensor rstd) {
        require("rmsNorm", x, w, y);
        requireF32("rmsNorm (rstd)", rstd);
        int m = rows(x), d = (int) x.dim(-1);
        k.kernel("norm.cu", dtype, "rmsnorm_fwd").launch(CudaKernels.warpBlocks(m), 1, CudaKernels.THREADS, 0,
                x.address(), w.address(), y.address(), rstd.address(), m, d, eps, unitOffset ? 1 : 0, vectors(d, x, w, y) ? 1 : 0);
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor dx, Tensor dw) {
        rmsNormBackward(dy, x, w, rstd, unitOffset, null, dx, dw);
    }

    @Override
    public void rmsNormBackwardAdd(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor residual, Tensor dx, Tensor dw) {
        require("rmsNormBackwardAdd", residual);
        rmsNormBackward(dy, x, w, rstd, unitOffset, residual, dx, dw);
    }

    /** Rows up to this many 16-byte vectors per lane take the one-pass kernel (its dw sums live in registers). */
    private static final int NORM_FUSED_MAX_VPL = 12;
    /** {@code CCE4J_NORM_BWD=split}: RMSNorm's backward as the two kernels and the add of before (for measuring against). */
    final boolean fusedNormBackward = !"split".equals(System.getenv("CCE4J_NORM_BWD"));
    /** {@code CCE4J_ROPE=scalar}: RoPE one pair per thread, as before the vector kernel (for measuring against). */
    final boolean vectorRope = !"scalar".equals(System.getenv("CCE4J_ROPE"));

    private void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unitOffset, Tensor residual, Tensor dx, Tensor dw) {
        require("rmsNormBackward", dy, x, w, dx);
        requireF32("rmsNormBackward (rstd, dw)", rstd, dw);
        int m = rows(x), d = (int) x.dim(-1);
        int vec = 16 / dtype.byteSize(), vpl = (d / vec + 31) / 32;
        if (fusedNormBackward && dx != null && vectors(d, dy, x, w, dx, residual) && vpl <= NORM_FUSED_MAX_VPL && m > 0) {
            // one pass: dx (+ residual) and dw; blocks of 4 warps, a few per multiprocessor, each warp taking rows in turn
            int blocks = (int) Math.min((m + 3) / 4, 4L * dev.multiprocessors());
            k.kernel("norm_bwd_fused.cu", dtype, "rmsnorm_bwd_fused", "NORM_VPL=" + vpl).launch(blocks, 1, 128,
                    dw != null ? d * 4 : 0, dy.address(), x.address(), w.address(), rstd.address(),
                    residual != null ? residual.address() : 0L, dx.address(), dw != null ? dw.address() : 0L, m, d, unitOffset ? 1 : 0);
            return;
        }
        if (dx != null) {
            k.kernel("norm.cu", dtype, "rmsnorm_bwd_dx").launch(CudaKernels.warpBlocks(m), 1, CudaKernels.THREADS, 0,
                    dy.address(), x.address(), w.address(), rstd.address(), dx.address(), m, d, unitOffset ? 1 : 0,
                    vectors(d, dy, x, w, dx) ? 1 : 0);
        }
        if (residual != null && dx != null) add(dx, residual, dx);
        if (dw != null) {
            CudaKernels.ColumnGrid g = CudaKernels.ColumnGrid.of(m, d);
            k.kernel("norm.cu", dtype, "rmsnorm_bwd_dw").launch(g.blocksX(), g.blocksY(), g.threads(), 0,
                    dy.address(), x.address(), rstd.address(), dw.address(), m, d, g.chunk());
        }
    }

    // ---- positions and attention ---------------------------------------------------------------

    @Override
    public void rope(Tensor x, int heads, RopeTable table, int[] positions, boolean inverse) {
        require("rope", x);
        int m = rows(x), half = table.headDim() / 2, width = (int) x.dim(-1);
        if (width != heads * table.headDim()) {
            throw new IllegalArgumentException("rope: rows of " + width + " are not " + heads + " heads of " + table.headDim());
        }
        if (positions.length != m) throw new IllegalArgumentException("rope: " + positions.length + " positions for " + m + " rows");
        RopeBuffers rb = ropeBuffers(table, positions);
        long n = (long) m * heads * half;
        int vec = 16 / dtype.byteSize();
        if (vectorRope && half % vec == 0 && (x.address() & 15) == 0 && n / vec < (1L << 31)) {
            k.kernel("elementwise.cu", dtype, "rope_vec").launch(CudaKernels.elementBlocks(n / vec), 1, CudaKernels.THREADS, 0,
                    x.address(), arrays.ints(positions), rb.cos().pointer(), rb.sin().pointer(), (int) (n / vec), heads, half,
                    inverse ? -1f : 1f);
            return;
        }
        k.kernel("elementwise.cu", dtype, "rope").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                x.address(), arrays.ints(positions), rb.cos().pointer(), rb.sin().pointer(), n, heads, half, inverse ? -1f : 1f);
    }

    /** The table's cos/sin rows on the device, grown to cover every position given (computed on the host, as RopeTable does). */
    private RopeBuffers ropeBuffers(RopeTable table, int[] positions) {
        int max = 0;
        for (int p : positions) {
            if (p < 0) throw new InvalidInputException("negative position " + p);
            max = Math.max(max, p);
        }
        RopeBuffers rb = ropes.get(table);
        if (rb != null && rb.positions() > max) return rb;
        int count = Math.max(max + 1, rb == null ? 0 : 2 * rb.positions());
        int half = table.headDim() / 2;
        float[] cos = new float[count * half], sin = new float[count * half];
        float[] c = new float[half], s = new float[half];
        for (int p = 0; p < count; p++) {
            table.row(p, c, s);
            System.arraycopy(c, 0, cos, p * half, half);
            System.arraycopy(s, 0, sin, p * half, half);
        }
        if (rb != null) {
            rb.cos().close();
            rb.sin().close();
        }
        rb = new RopeBuffers(count, dev.uploadFloats(cos), dev.uploadFloats(sin));
        ropes.put(table, rb);
        return rb;
    }

    @Override
    public void attention(AttentionShape shape, Tensor q, Tensor kk, Tensor v, Tensor out, Tensor lse) {
        require("attention", q, kk, v, out);
        requireF32("attention (lse)", lse);
        attention.forward(shape, q, kk, v, out, lse);
    }

    @Override
    public void attentionBackward(AttentionShape shape, Tensor q, Tensor kk, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                                  Tensor dq, Tensor dk, Tensor dv) {
        require("attentionBackward", q, kk, v, out, dOut, dq, dk, dv);
        requireF32("attentionBackward (lse)", lse);
        attention.backward(shape, q, kk, v, out, lse, dOut, dq, dk, dv);
    }

    @Override
    public void decodeAttention(DecodeShape shape, Tensor q, Tensor kCache, Tensor vCache, Tensor out) {
        require("decodeAttention", q, kCache, vCache, out);
        attention.decode(shape, q, kCache, vCache, out);
    }

    // ---- element-wise ------------------------------------------------------------------------

    @Override
    public void gatedActivation(Activation act, Tensor gate, Tensor up, Tensor out) {
        require("gatedActivation", gate, up, out);
        long n = gate.numel();
        if (vectors(n, gate, up, out)) {
            long nv = n / (16 / dtype.byteSize());
            k.kernel("elementwise.cu", dtype, "gated_fwd_vec").launch(CudaKernels.elementBlocks(nv), 1, CudaKernels.THREADS, 0,
                    gate.address(), up.address(), out.address(), nv, act.ordinal());
            return;
        }
        k.kernel("elementwise.cu", dtype, "gated_fwd").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                gate.address(), up.address(), out.address(), n, act.ordinal());
    }

    @Override
    public void gatedActivationBackward(Activation act, Tensor gate, Tensor up, Tensor dOut, Tensor dGate, Tensor dUp) {
        require("gatedActivationBackward", gate, up, dOut, dGate, dUp);
        long n = gate.numel();
        if (vectors(n, gate, up, dOut, dGate, dUp)) {
            long nv = n / (16 / dtype.byteSize());
            k.kernel("elementwise.cu", dtype, "gated_bwd_vec").launch(CudaKernels.elementBlocks(nv), 1, CudaKernels.THREADS, 0,
                    gate.address(), up.address(), dOut.address(), dGate.address(), dUp.address(), nv, act.ordinal());
            return;
        }
        k.kernel("elementwise.cu", dtype, "gated_bwd").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                gate.address(), up.address(), dOut.address(), dGate.address(), dUp.address(), n, act.ordinal());
    }

    @Override
    public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
        require("embedding", table, out);
        int d = (int) table.dim(1), vocab = (int) table.dim(0);
        checkIds(ids, vocab);
        long n = (long) ids.length * d;
        k.kernel("elementwise.cu", dtype, "embedding_fwd").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                arrays.ints(ids), table.address(), out.address(), n, d, scale);
    }

    @Override
    public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx) {
        require("embeddingBackward", dOut);
        requireF32("embeddingBackward (dTable)", dTable);
        int d = (int) dTable.dim(1);
        checkIds(ids, (int) dTable.dim(0));
        long n = (long) ids.length * d;
        k.kernel("elementwise.cu", dtype, "embedding_bwd").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                arrays.ints(ids), dOut.address(), dTable.address(), n, d, scale, paddingIdx);
    }

    private static void checkIds(int[] ids, int vocab) {
        for (int r = 0; r < ids.length; r++) {
            if (ids[r] < 0 || ids[r] >= vocab) throw new InvalidInputException("token id " + ids[r] + " at position " + r + " is outside [0, " + vocab + ")");
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        require("add", a, b, out);
        long n = a.numel();
        if (vectors(n, a, b, out)) {
            long nv = n / (16 / dtype.byteSize());
            k.kernel("elementwise.cu", dtype, "add_vec").launch(CudaKernels.elementBlocks(nv), 1, CudaKernels.THREADS, 0,
                    a.address(), b.address(), out.address(), nv);
            return;
        }
        k.kernel("elementwise.cu", dtype, "add").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                a.address(), b.address(), out.address(), n);
    }

    @Override
    public void softcap(Tensor x, float cap) {
        require("softcap", x);
        long n = x.numel();
        k.kernel("elementwise.cu", dtype, "softcap").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0, x.address(), n, cap);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copy from " + src + " into " + dst + ": shapes differ");
        }
        if (src.device().isCpu() && dst.device().isCpu()) {
            dst.copyFrom(src);
        } else if (src.device().isCpu()) {
            try (Tensor converted = src.dtype() == dst.dtype() ? null : src.to(dst.dtype())) {
                Tensor from = converted == null ? src : converted;
                dev.copyToDevice(from.data(), dst.address(), dst.byteSize());
            }
        } else if (dst.device().isCpu()) {
            try (Tensor host = downloadF32(src)) {
                dst.copyFrom(host);
            }
        } else if (src.dtype() == dst.dtype()) {
            dev.copyDeviceToDevice(src.address(), dst.address(), src.byteSize());
        } else {
            long n = src.numel();
            if (src.dtype() == DType.F32 && dst.dtype() == DType.BF16) {
                k.kernel("elementwise.cu", DType.BF16, "from_f32").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                        src.address(), dst.address(), n);
            } else if (src.dtype() == DType.BF16 && dst.dtype() == DType.F32) {
                k.kernel("elementwise.cu", DType.BF16, "to_f32").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                        src.address(), dst.address(), n);
            } else {
                throw new IllegalArgumentException("copy from " + src + " into " + dst + ": only f32 ↔ bf16 conversions are supported");
            }
        }
    }

    // ---- training -----------------------------------------------------------------------

    @Override
    public long bytesInUse() {
        return dev.allocator().bytesInUse();
    }

    @Override
    public long peakBytes() {
        return dev.allocator().peakBytes();
    }

    @Override
    public void resetPeak() {
        dev.allocator().resetPeak();
    }

    @Override
    public Tensor download(Tensor t) {
        if (t.device().isCpu()) return t.to(t.dtype());
        return dev.download(t);
    }

    @Override
    public void linearAccumulate(Tensor x, Tensor w, Tensor y) {
        require("linearAccumulate", x, w, y);
        int m = rows(x), kk = (int) x.dim(-1), n = (int) w.dim(0);
        dev.cublas().gemm(false, true, m, n, kk, 1f, x.address(), dtype, kk, w.address(), dtype, kk, 1f, y.address(), dtype, n);
    }

    /**
     * The storage dtype of tensors that may be in the compute dtype or in f32 (LoRA's small activations,
     * f32 gradients), all of the same dtype and on this device.
     */
    private DType floatStorage(String op, Tensor first, Tensor... rest) {
        DType dt = first.dtype();
        if ((dt != dtype && dt != DType.F32) || !first.device().equals(dev.device())) {
            throw new IllegalArgumentException(op + ": expected " + dtype.shortName() + " or f32 on " + dev.device() + ", got " + first);
        }
        for (Tensor t : rest) {
            if (t.dtype() != dt || !t.device().equals(dev.device()) || !Arrays.equals(t.shape(), first.shape())) {
                throw new IllegalArgumentException(op + ": " + t + " does not match " + first);
            }
        }
        return dt;
    }

    private void requireF64Scalar(String op, Tensor t) {
        if (t.dtype() != DType.F64 || t.numel() != 1 || !t.device().equals(dev.device())) {
            throw new IllegalArgumentException(op + ": expected an f64 [1] on " + dev.device() + ", got " + t);
        }
    }

    @Override
    public void scale(Tensor x, float s) {
        DType dt = floatStorage("scale", x);
        long n = x.numel();
        k.kernel("elementwise.cu", dt, "scale").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0, x.address(), n, s);
    }

    @Override
    public void dropout(Tensor x, Tensor out, float p, long seed) {
        dropoutKernel("dropout", "dropout", x, out, p, seed);
    }

    @Override
    public void dropoutAdd(Tensor x, Tensor out, float p, long seed) {
        if (x.address() == out.address()) throw new IllegalArgumentException("dropoutAdd: x and out are the same tensor");
        dropoutKernel("dropoutAdd", "dropout_add", x, out, p, seed);
    }

    /** Kernel {@code kernel} (or its 16-byte-vector twin {@code kernel_vec} where every pointer and the length allow) over x into out. */
    private void dropoutKernel(String op, String kernel, Tensor x, Tensor out, float p, long seed) {
        DType dt = floatStorage(op, x, out);
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException(op + ": p = " + p + " is outside [0, 1]");
        long n = x.numel();
        boolean vec = vectors(n, x, out);
        long count = vec ? n / (16 / dt.byteSize()) : n;
        k.kernel("elementwise.cu", dt, vec ? kernel + "_vec" : kernel).launch(CudaKernels.elementBlocks(count), 1, CudaKernels.THREADS, 0,
                x.address(), out.address(), count, p, DropoutMask.scale(p), seed);
    }

    @Override
    public void sumOfSquares(Tensor x, Tensor acc) {
        requireF32("sumOfSquares", x);
        requireF64Scalar("sumOfSquares (acc)", acc);
        long n = x.numel();
        k.kernel("optimizer.cu", DType.F32, "sum_of_squares").launch(CudaKernels.reductionBlocks(n), 1, CudaKernels.THREADS, 0,
                x.address(), acc.address(), n);
    }

    @Override
    public void adamw(Tensor value, Tensor master, Tensor grad, Tensor m, Tensor v, Tensor gradSumOfSquares, AdamWStep st) {
        requireF32("adamw (grad, m, v, master)", grad, m, v, master);
        DType valueType = master == null ? DType.F32 : DType.BF16;
        if (value.dtype() != valueType || !value.device().equals(dev.device())) {
            throw new IllegalArgumentException("adamw: the value must be " + valueType.shortName() + " on " + dev.device()
                    + (master == null ? " without a master copy" : " with an f32 master copy") + ", got " + value);
        }
        long n = value.numel();
        for (Tensor t : new Tensor[] {master, grad, m, v}) {
            if (t != null && t.numel() != n) throw new IllegalArgumentException("adamw: " + t + " does not match the value " + value);
        }
        if (gradSumOfSquares != null) requireF64Scalar("adamw (gradSumOfSquares)", gradSumOfSquares);
        // the scalars exactly as CpuBackend.adamw computes them, so that the kernel's f32 arithmetic is the CPU's
        float decay = (float) (1 - st.lr() * st.weightDecay());
        float oneMinusBeta1 = (float) (1 - st.beta1()), beta2 = (float) st.beta2(), oneMinusBeta2 = (float) (1 - st.beta2());
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        float negStepSize = (float) -(st.lr() / bc1), bc2Sqrt = (float) Math.sqrt(bc2), eps = (float) st.eps();
        boolean lerpLow = oneMinusBeta1 < 0.5f;
        long sumOfSquares = gradSumOfSquares != null && st.maxGradNorm() > 0 ? gradSumOfSquares.address() : 0L;
        k.kernel("optimizer.cu", value.dtype(), "adamw").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                value.address(), master == null ? 0L : master.address(), grad.address(), m.address(), v.address(), sumOfSquares, n,
                (float) st.maxGradNorm(), decay, oneMinusBeta1, 1f - oneMinusBeta1, lerpLow ? 1 : 0, beta2, oneMinusBeta2,
                negStepSize, bc2Sqrt, eps);
    }

    @Override
    public LinearCrossEntropy crossEntropy(CceImpl impl) {
        return LinearCrossEntropy.create(impl, dev.device());
    }

    @Override
    public String toString() {
        return "CudaBackend(" + dev + ", " + dtype.shortName() + ")";
    }
}
