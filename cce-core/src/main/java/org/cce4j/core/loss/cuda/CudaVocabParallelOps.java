package org.cce4j.core.loss.cuda;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaModule;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.dist.VocabParallelOps;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.List;

/**
 * {@link VocabParallelOps} on a CUDA device: the rows of the vocabulary-parallel loss as small kernels,
 * so that E, C, the LSEs and the gradients never leave the device; only the O(N) targets, weights and
 * upstream scales pass through the host (they are validated there, as every CUDA loss does).
 * <pre>
 *   start     CudaOperands (E, C in one type, f32 bias, local columns) → cce_target_logits: z per row
 *   partials  vp_partials  [lse_r | z where the target is here]  (2N f32, what the communicator gathers)
 *   merge     vp_merge     gathered [size × 2N] → LSE, token losses;  cce_reduce_loss → the reduced loss
 *   upstream  vp_upstream  u = s·exp(lse_r − LSE)·(1 + 2λ·LSE), correction u − s·[target here]
 *   correct   cce_target_backward with the correction as its scale and 1 − α = −1: +corr·softcap'(z)
 *             into dE (row i, from C[col_i]), dC[col_i] and dBias[col_i] (f32 atomics)
 * </pre>
 * Registered in {@code META-INF/services/org.cce4j.core.dist.VocabParallelOps}.
 */
public final class CudaVocabParallelOps implements VocabParallelOps {

    @Override
    public boolean supports(Device device) {
        return device instanceof Device.Cuda;
    }

    @Override
    public Tensor toHost(Tensor t) {
        return CudaDevice.get(t.device()).download(t);
    }

    @Override
    public Tensor copyTo(Tensor host, Device device) {
        return CudaDevice.get(device).upload(host);
    }

    @Override
    public Rows start(CceInputs localIn, CceForward local, CceProblem pb, boolean[] inShard, CceOptions o) {
        return new CudaRows(localIn, local, pb, inShard, o);
    }

    private static int blocks(long n) {
        return CceKernels.ceilDiv(n, 256);
    }

    private static final class CudaRows implements Rows {
        private final CudaDevice dev;
        private final CudaOperands ops;
        private final CudaModule rowsModule, vp;
        private final CceProblem pb;
        private final CceOptions o;
        private final Tensor lseLocal;
        private final int n;
        private DeviceBuffer targetZ, inShard, weight, correction;
        private Tensor lseGlobal;

        CudaRows(CceInputs in, CceForward local, CceProblem pb, boolean[] here, CceOptions o) {
            this.pb = pb;
            this.o = o;
            n = pb.rows;
            lseLocal = local.lse();
            if (lseLocal.device().isCpu() || !lseLocal.device().equals(in.embeddings().device()) || lseLocal.dtype() != DType.F32) {
                throw new InvalidInputException("the vocabulary-parallel loss on " + in.embeddings().device()
                        + " needs an inner loss whose lse is f32 on that device, got " + lseLocal);
            }
            ops = CudaOperands.of(in, o);
            dev = ops.dev;
            try {
                rowsModule = dev.module("cce_rows.cu", List.of("CCE_ELEM=" + CceKernels.code(ops.elem)));
                vp = dev.module("vocab_parallel.cu", List.of());
                int[] flags = new int[n];
                for (int r = 0; r < n; r++) flags[r] = here[r] ? 1 : 0;
                inShard = dev.uploadInts(flags);
                weight = noWeights(pb) ? null : dev.uploadFloats(pb.weightOfRow);
                targetZ = dev.buffer(4L * n);
                rowsModule.kernel("cce_target_logits").launch(CceKernels.ceilDiv(n, 8), 1, 256, 0,
                        ops.e, ops.c, ops.bias, ops.target, n, pb.dim, o.softcap(), targetZ.pointer());
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Whether every row's weight is 1 (always so without token weights): the merge then needs none. */
        private static boolean noWeights(CceProblem pb) {
            for (float w : pb.weightOfRow) if (w != 1f) return false;
            return true;
        }

        @Override
        public Tensor partials() {
            Tensor out = dev.empty(DType.F32, 2L * n);
            vp.kernel("vp_partials").launch(blocks(n), 1, 256, 0, lseLocal.address(), targetZ.pointer(), inShard.pointer(),
                    ops.target, n, out.address());
            return out;
        }

        @Override
        public Tensor gatherBuffer(int size) {
            return dev.zeros(DType.F32, (long) size * 2 * n);
        }

        @Override
        public Merged merge(Tensor gathered, int size) {
            if (gathered.device().isCpu()) throw new IllegalArgumentException("the gathered partials must be on " + dev.device());
            Tensor lse = dev.empty(DType.F32, pb.leadingShape);
            Tensor tokenLoss = dev.empty(DType.F32, pb.leadingShape);
            vp.kernel("vp_merge").launch(blocks(n), 1, 256, 0, gathered.address(), size, n, ops.target,
                    weight == null ? 0L : weight.pointer(), o.zLossWeight(), lse.address(), tokenLoss.address());
            lseGlobal = lse;
            Tensor reduced = CudaOperands.reducedLoss(dev, rowsModule, pb, o, tokenLoss.address(), ops.target);
            boolean none = o.reduction() == Reduction.NONE;
            return new Merged(none ? tokenLoss : reduced, tokenLoss, lse, CudaOperands.valueOf(dev, reduced), none ? reduced : null);
        }

        @Override
        public Tensor upstream(Tensor upstream) {
            float[] scale = CudaOperands.rowScales(pb, o, upstream);
            Tensor u = dev.empty(DType.F32, pb.leadingShape);
            if (correction == null) correction = dev.buffer(4L * n);
            try (DeviceBuffer sc = dev.uploadFloats(scale)) {
                vp.kernel("vp_upstream").launch(blocks(n), 1, 256, 0, sc.pointer(), lseLocal.address(), lseGlobal.address(),
                        inShard.pointer(), ops.target, n, o.zLossWeight(), u.address(), correction.pointer());
            }
            return u;
        }

        @Override
        public void correct(Tensor partialDE, Tensor dC, Tensor dBias) {
            rowsModule.kernel("cce_target_backward").launch(CceKernels.ceilDiv(n, 8), 1, 256, 0,
                    ops.e, ops.c, ops.target, targetZ.pointer(), correction.pointer(), n, pb.dim, o.softcap(), -1f,
                    CudaOperands.address(partialDE), CudaOperands.address(dC), CudaOperands.address(dBias));
        }

        @Override
        public Tensor zeros(long... shape) {
            return dev.zeros(DType.F32, shape);
        }

        @Override
        public void add(Tensor dst, Tensor src) {
            if (dst.dtype() != DType.F32 || src.numel() != dst.numel() || dst.device().isCpu()) {
                throw new InvalidInputException("dEmbeddings must be an f32 tensor on " + dev.device() + " of " + src.numel() + " elements, got " + dst);
            }
            vp.kernel("vp_add").launch(blocks(dst.numel()), 1, 256, 0, dst.address(), src.address(), dst.numel());
        }

        @Override
        public void close() {
            for (DeviceBuffer b : new DeviceBuffer[] {targetZ, inShard, weight, correction}) if (b != null) b.close();
            targetZ = inShard = weight = correction = null;
            ops.close();
        }
    }
}
