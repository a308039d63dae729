package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaModule;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * What the CUDA losses read, prepared once per forward:
 * <pre>
 *   e, c       device addresses of E and C in one element type (when their types differ, both are
 *              converted to f32 copies, freed with the forward)
 *   bias       f32 [V] on the device (converted when given as bf16/f16), or 0
 *   target     int32 [N] on the device: each row's target after the shift, −1 where it does not count
 *   weight     f32 [N] on the device: each row's token weight, or 0 when no token weights were given
 * </pre>
 * Their uploads do not wait for the device ({@link CudaDevice#uploadInts}), so a forward queues
 * all its work without a round trip.
 * The {@link CceProblem} is computed on the host (it needs the targets there: O(N) bytes are copied
 * back when they live on the device).
 */
final class CudaOperands implements AutoCloseable {
    final CudaDevice dev;
    final CceProblem problem;
    final DType elem;
    final long e, c, bias;
    final long target, weight;
    private final List<AutoCloseable> owned = new ArrayList<>();

    private CudaOperands(CudaDevice dev, CceProblem problem, DType elem, long e, long c, long bias,
                         long target, long weight) {
        this.dev = dev;
        this.problem = problem;
        this.elem = elem;
        this.e = e;
        this.c = c;
        this.bias = bias;
        this.target = target;
        this.weight = weight;
    }

    static CudaOperands of(CceInputs in, CceOptions o) {
        Tensor eT = in.embeddings(), cT = in.classifier();
        if (eT == null || cT == null) CceProblem.of(in, o); // the problem names what is missing
        if (eT.device().isCpu() || cT.device().isCpu()) {
            throw new InvalidInputException("the CUDA loss needs embeddings and classifier on the GPU, got "
                    + eT.device() + " and " + cT.device() + " (copy them with CudaDevice.upload)");
        }
        List<Tensor> hostCopies = new ArrayList<>();
        try {
            CceInputs hostSide = in;
            if (in.targets() != null && !in.targets().device().isCpu()) {
                Tensor t = CudaDevice.get(in.targets().device()).download(in.targets());
                hostCopies.add(t);
                hostSide = new CceInputs(hostSide.embeddings(), hostSide.classifier(), t, hostSide.bias(), hostSide.tokenWeights());
            }
            if (in.tokenWeights() != null && !in.tokenWeights().device().isCpu()) {
                Tensor w = CudaDevice.get(in.tokenWeights().device()).download(in.tokenWeights());
                hostCopies.add(w);
                hostSide = hostSide.withTokenWeights(w);
            }
            CceProblem pb = CceProblem.of(hostSide, o);
            CudaDevice dev = CudaDevice.get(eT.device());
            DType elem = eT.dtype() == cT.dtype() ? eT.dtype() : DType.F32;
            List<AutoCloseable> owned = new ArrayList<>();
            long e = eT.dtype() == elem ? eT.address() : toF32(dev, eT, owned);
            long c = cT.dtype() == elem ? cT.address() : toF32(dev, cT, owned);
            long bias = 0;
            if (in.bias() != null) {
                Tensor b = in.bias();
                if (b.device().isCpu()) {
                    DeviceBuffer buf = dev.uploadFloats(b.toFloatArray());
                    owned.add(buf);
                    bias = buf.pointer();
                } else {
                    bias = b.dtype() == DType.F32 ? b.address() : toF32(dev, b, owned);
                }
            }
            DeviceBuffer target = dev.uploadInts(pb.targetOfRow);
            owned.add(target);
            DeviceBuffer weight = in.tokenWeights() == null ? null : dev.uploadFloats(pb.weightOfRow);
            if (weight != null) owned.add(weight);
            CudaOperands ops = new CudaOperands(dev, pb, elem, e, c, bias, target.pointer(), weight == null ? 0L : weight.pointer());
            ops.owned.addAll(owned);
            return ops;
        } finally {
            for (Tensor t : hostCopies) t.close();
        }
    }

    /** An f32 copy of a bf16/f16 device tensor, owned by {@code owned}; returns its address. */
    static long toF32(CudaDevice dev, Tensor t, List<AutoCloseable> owned) {
        if (t.dtype() == DType.F32) return t.address();
        DeviceBuffer out = dev.buffer(4 * t.numel());
        owned.add(out);
        String kernel = switch (t.dtype()) {
            case BF16 -> "bf16_to_f32";
            case F16 -> "f16_to_f32";
            default -> throw new InvalidInputException(t + " must be f32, bf16 or f16");
        };
        long n = t.numel();
        dev.module("convert.cu", List.of()).kernel(kernel)
                .launch((int) ((n + 255) / 256), 1, 256, 0, t.address(), out.pointer(), n);
        return out.pointer();
    }

    /** The CUDA device the loss runs on, checked against a tensor the caller passed. */
    static void requireOn(Tensor t, CudaDevice dev, String name) {
        if (t != null && !t.device().equals(dev.device())) {
            throw new InvalidInputException(name + " is on " + t.device() + " but the loss runs on " + dev.device());
        }
    }

    /** Per row: upstream scale × token weight, 0 for rows that do not count (as the CPU computes it). */
    static float[] rowScales(CceProblem pb, CceOptions o, Tensor upstream) {
        Tensor up = upstream;
        Tensor copy = null;
        if (!up.device().isCpu()) {
            copy = CudaDevice.get(up.device()).download(up);
            up = copy;
        }
        try {
            float[] s = pb.upstreamScale(o.reduction(), up);
            for (int r = 0; r < pb.rows; r++) s[r] = pb.targetOfRow[r] >= 0 ? s[r] * pb.weightOfRow[r] : 0f;
            return s;
        } finally {
            if (copy != null) copy.close();
        }
    }

    /** Gradients on the device: fresh zeros (dBias only with a bias), or the caller's, checked. */
    static org.cce4j.core.loss.CceGradients gradients(CudaDevice dev, CceInputs in, CceProblem pb,
                                                       org.cce4j.core.loss.CceGradients into) {
        if (into == null) {
            return new org.cce4j.core.loss.CceGradients(dev.zeros(DType.F32, in.embeddings().shape()),
                    dev.zeros(DType.F32, pb.vocab, pb.dim), in.bias() != null ? dev.zeros(DType.F32, pb.vocab) : null);
        }
        check(into.dEmbeddings(), dev, in.embeddings().shape(), "dEmbeddings");
        check(into.dClassifier(), dev, new long[] {pb.vocab, pb.dim}, "dClassifier");
        check(into.dBias(), dev, new long[] {pb.vocab}, "dBias");
        if (into.dBias() != null && in.bias() == null) throw new InvalidInputException("dBias given but the loss has no bias");
        return into;
    }

    private static void check(Tensor t, CudaDevice dev, long[] shape, String name) {
        if (t == null) return;
        if (t.dtype() != DType.F32 || !t.device().equals(dev.device()) || !java.util.Arrays.equals(t.shape(), shape)) {
            throw new InvalidInputException(name + " must be an f32 tensor on " + dev.device() + " of shape "
                    + java.util.Arrays.toString(shape) + ", got " + t);
        }
    }

    static long address(Tensor t) {
        return t == null ? 0L : t.address();
    }

    /**
     * The reduced loss as a device scalar, from the token losses of the rows that count (summed in
     * double, as the CPU does), without waiting for the device: for mean the sum over the weight sum,
     * for sum and none the sum.
     */
    static Tensor reducedLoss(CudaDevice dev, CudaModule rows, CceProblem pb, CceOptions o, long tokenLoss, long target) {
        Tensor out = dev.empty(DType.F32);
        double divisor = o.reduction() == org.cce4j.core.loss.Reduction.MEAN ? pb.weightSum : 1.0;
        rows.kernel("cce_reduce_loss").launch(1, 1, 1024, 0, tokenLoss, target, pb.rows, divisor, out.address());
        return out;
    }

    /** Queues the count of ones in {@code correct} (int32 [n] on the device) into a fresh 4-byte buffer, which it returns. */
    static DeviceBuffer countCorrect(CudaDevice dev, CudaModule rows, Tensor correct, int n) {
        DeviceBuffer out = dev.buffer(4);
        rows.kernel("cce_count_correct").launch(1, 1, 1024, 0, correct.address(), n, out.pointer());
        return out;
    }

    /** The count in {@code buffer}, read when asked (what {@link org.cce4j.core.loss.CceForward#correctCount} calls); null for null. */
    static java.util.function.LongSupplier countOf(CudaDevice dev, DeviceBuffer buffer) {
        return buffer == null ? null : () -> dev.downloadInts(buffer.pointer(), 1)[0];
    }

    /** The largest |scale| over the rows: the backward stores its gradient blocks divided by it (f16 range). */
    static float largestScale(float[] scale) {
        float g = 0f;
        for (float s : scale) g = Math.max(g, Math.abs(s));
        return g;
    }

    /** The value of a device scalar, read when asked (what {@link org.cce4j.core.loss.CceForward#lossValue} calls). */
    static java.util.function.DoubleSupplier valueOf(CudaDevice dev, Tensor scalar) {
        return () -> dev.downloadFloats(scalar.address(), 1)[0];
    }

    static Device deviceOf(CceInputs in) {
        return in.embeddings().device();
    }

    @Override
    public void close() {
        for (AutoCloseable a : owned) {
            try {
                a.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
