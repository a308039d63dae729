package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.Cublas;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaModule;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.List;

/**
 * The materialized baseline on cuBLAS, as PyTorch's {@code cross_entropy(E @ C.T)} computes it:
 * <pre>
 * forward:  logits[N×V] f32 = E·Cᵀ (cublasGemmEx, f32 accumulation)
 *           baseline_forward_rows: +bias, softcap in place; row max, Σexp, Σz, target logit (and with
 *           accuracy the first index of the row's maximum) → cce_merge
 * backward: baseline_backward_rows: the logits become g = ∂loss/∂z in place (f32)
 *           for bf16/f16 inputs g is stored once more in that type (scaled into range) for cuBLAS
 *           dE += g·C, dC += gᵀ·E (cublasGemmEx, beta = 1), dBias += Σ_rows g
 * </pre>
 * Memory grows with N×V by design: it is the yardstick for the CCE kernels. Every row's lse is
 * computed and returned.
 */
public final class CudaBaselineCrossEntropy implements LinearCrossEntropy {
    private final Device device;

    public CudaBaselineCrossEntropy(Device device) {
        this.device = device;
    }

    private record Saved(CudaOperands ops, Tensor logits, DeviceBuffer lseAll, DeviceBuffer targetZ, Tensor lossSum,
                         DeviceBuffer correctCount) implements AutoCloseable {
        @Override
        public void close() {
            if (lossSum != null) lossSum.close();
            if (correctCount != null) correctCount.close();
            logits.close();
            lseAll.close();
            targetZ.close();
            ops.close();
        }
    }


    @Override
    public CceForward forward(CceInputs in, CceOptions o) {
        if (in.embeddings() != null && !in.embeddings().device().equals(device)) {
            throw new InvalidInputException("this loss was created for " + device + " but the embeddings are on " + in.embeddings().device());
        }
        CudaOperands ops = CudaOperands.of(in, o);
        try {
            CudaDevice dev = ops.dev;
            CceProblem pb = ops.problem;
            int n = pb.rows, v = pb.vocab, d = pb.dim;
            List<String> defs = List.of("CCE_ELEM=" + CceKernels.code(ops.elem));
            CudaModule rows = dev.module("cce_rows.cu", defs);
            CudaModule base = dev.module("baseline.cu", defs);
            Tensor logits = dev.empty(DType.F32, n, v);
            DType t = ops.elem;
            dev.cublas().gemm(false, true, n, v, d, 1f, ops.e, t, d, ops.c, t, d, 0f, logits.address(), DType.F32, v);
            boolean smoothing = o.labelSmoothing() != 0;
            DeviceBuffer targetZ = dev.buffer(4L * n), lseAll = dev.buffer(4L * n);
            dev.memset(targetZ.pointer(), (byte) 0, 4L * n);
            boolean accuracy = o.accuracy();
            try (DeviceBuffer rowMax = dev.buffer(4L * n); DeviceBuffer rowSum = dev.buffer(4L * n);
                 DeviceBuffer rowLsum = dev.buffer(4L * n); DeviceBuffer rowArg = accuracy ? dev.buffer(4L * n) : null) {
                long arg = rowArg == null ? 0L : rowArg.pointer();
                base.kernel("baseline_forward_rows").launch(n, 1, 256, 0, logits.address(), ops.bias, ops.target,
                        n, v, o.softcap(), smoothing ? 1 : 0, rowMax.pointer(), rowSum.pointer(), rowLsum.pointer(), targetZ.pointer(),
                        arg);
                Tensor lse = dev.empty(DType.F32, pb.leadingShape);
                Tensor tokenLoss = dev.empty(DType.F32, pb.leadingShape);
                Tensor correct = accuracy ? dev.empty(DType.I32, pb.leadingShape) : null;
                rows.kernel("cce_merge").launch(CceKernels.ceilDiv(n, 256), 1, 256, 0,
                        rowMax.pointer(), rowSum.pointer(), smoothing ? rowLsum.pointer() : 0L, 1, n, v, ops.target,
                        ops.weight, targetZ.pointer(), o.labelSmoothing(), o.zLossWeight(), 1,
                        lseAll.pointer(), lse.address(), tokenLoss.address(), arg, CudaOperands.address(correct));
                DeviceBuffer count = accuracy ? CudaOperands.countCorrect(dev, rows, correct, n) : null;
                Tensor reduced = CudaOperands.reducedLoss(dev, rows, pb, o, tokenLoss.address(), ops.target);
                boolean none = o.reduction() == Reduction.NONE;
                Tensor loss = none ? tokenLoss : reduced;
                return new CceForward(in, o, pb, loss, tokenLoss, lse, CudaOperands.valueOf(dev, reduced), correct,
                        CudaOperands.countOf(dev, count), new Saved(ops, logits, lseAll, targetZ, none ? reduced : null, count));
            }
        } catch (RuntimeException e) {
            ops.close();
            throw e;
        }
    }

    @Override
    public CceGradients backward(CceForward fwd, Tensor upstream, CceGradients into) {
        if (!(fwd.saved() instanceof Saved sv)) throw new InvalidInputException("this forward was not made by the CUDA baseline");
        CudaOperands ops = sv.ops();
        CudaDevice dev = ops.dev;
        dev.enter();
        CceProblem pb = fwd.problem();
        CceOptions o = fwd.options();
        CceGradients out = CudaOperands.gradients(dev, fwd.inputs(), pb, into);
        float[] scale = CudaOperands.rowScales(pb, o, upstream);
        float gScale = CudaOperands.largestScale(scale);
        if (gScale == 0f) return out;
        int n = pb.rows, v = pb.vocab, d = pb.dim;
        List<String> defs = List.of("CCE_ELEM=" + CceKernels.code(ops.elem));
        CudaModule base = dev.module("baseline.cu", defs);
        boolean narrow = ops.elem != DType.F32;
        try (DeviceBuffer sc = dev.uploadFloats(scale)) {
            long g = sv.logits().address();
            // f32 keeps g unscaled; narrow types store g / gScale so that its values sit near 1
            float inv = narrow ? 1f / gScale : 1f;
            float alpha = narrow ? gScale : 1f;
            base.kernel("baseline_backward_rows").launch(n, 1, 256, 0, g, ops.target, sv.lseAll().pointer(),
                    sc.pointer(), n, v, o.softcap(), o.zLossWeight(), o.labelSmoothing(), inv);
            if (out.dBias() != null) {
                base.kernel("baseline_column_sums").launch(CceKernels.ceilDiv(v, 256), 1, 256, 0, g, n, v, alpha,
                        out.dBias().address());
            }
            DeviceBuffer gNarrow = null;
            try {
                long gOperand = g;
                DType t = ops.elem;
                if (narrow) {
                    gNarrow = dev.buffer(2L * n * v);
                    String conv = ops.elem == DType.BF16 ? "f32_to_bf16" : "f32_to_f16";
                    long count = (long) n * v;
                    dev.module("convert.cu", List.of()).kernel(conv).launch(CceKernels.ceilDiv(count, 256), 1, 256, 0,
                            g, gNarrow.pointer(), count);
                    gOperand = gNarrow.pointer();
                }
                Cublas blas = dev.cublas();
                if (out.dEmbeddings() != null) {
                    blas.gemm(false, false, n, d, v, alpha, gOperand, t, v, ops.c, t, d, 1f,
                            out.dEmbeddings().address(), DType.F32, d);
                }
                if (out.dClassifier() != null) {
                    blas.gemm(true, false, v, d, n, alpha, gOperand, t, v, ops.e, t, d, 1f,
                            out.dClassifier().address(), DType.F32, d);
                }
                dev.synchronize("the baseline backward");
            } finally {
                if (gNarrow != null) gNarrow.close();
            }
        }
        return out;
    }
}
