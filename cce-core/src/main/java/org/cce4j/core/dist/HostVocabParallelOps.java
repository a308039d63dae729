package org.cce4j.core.dist;

import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

/**
 * {@link VocabParallelOps} on host tensors: the target logits by dot products in double, the merge and
 * the factors in double over Java arrays, the rank-one correction element by element. O(N·D) per call,
 * beside the inner loss's O(N·V·D).
 */
final class HostVocabParallelOps implements VocabParallelOps {
    static final HostVocabParallelOps INSTANCE = new HostVocabParallelOps();

    private HostVocabParallelOps() {}

    @Override
    public boolean supports(Device device) {
        return device.isCpu();
    }

    @Override
    public Tensor toHost(Tensor t) {
        throw new IllegalArgumentException(t + " is already a host tensor");
    }

    @Override
    public Tensor copyTo(Tensor host, Device device) {
        Tensor t = Tensor.zeros(host.dtype(), host.shape());
        t.copyFrom(host);
        return t;
    }

    @Override
    public Rows start(CceInputs localIn, CceForward local, CceProblem pb, boolean[] inShard, CceOptions o) {
        return new HostRows(localIn, local, pb, inShard, o);
    }

    private static final class HostRows implements Rows {
        private final CceInputs in;
        private final CceProblem pb;
        private final CceOptions o;
        private final boolean[] inShard;
        private final float[] lseLocal, zLocal, capDerivative;
        private final int n;
        private float[] lseGlobal;
        private double[] correction;

        HostRows(CceInputs in, CceForward local, CceProblem pb, boolean[] inShard, CceOptions o) {
            this.in = in;
            this.pb = pb;
            this.o = o;
            this.inShard = inShard;
            n = pb.rows;
            lseLocal = local.lse().toFloatArray();
            zLocal = new float[n];
            capDerivative = new float[n];
            for (int r : pb.countingRows) {
                double x = dot(r, pb.targetOfRow[r]);
                if (o.softcap() > 0) {
                    double th = Math.tanh(x / o.softcap());
                    zLocal[r] = (float) (o.softcap() * th);
                    capDerivative[r] = (float) (1 - th * th);
                } else {
                    zLocal[r] = (float) x;
                    capDerivative[r] = 1f;
                }
            }
        }

        /** E row r · C row j (+ bias j) in double: the logit before the softcap. */
        private double dot(int r, int j) {
            Tensor e = in.embeddings(), c = in.classifier();
            long d = c.dim(1);
            double x = in.bias() == null ? 0 : in.bias().getFloat(j);
            for (long k = 0; k < d; k++) x += (double) e.getFloat(r * d + k) * c.getFloat(j * d + k);
            return x;
        }

        @Override
        public Tensor partials() {
            float[] mine = new float[2 * n];
            System.arraycopy(lseLocal, 0, mine, 0, n);
            for (int r : pb.countingRows) if (inShard[r]) mine[n + r] = zLocal[r];
            return Tensor.of(mine, 2L * n);
        }

        @Override
        public Tensor gatherBuffer(int size) {
            return Tensor.zeros(DType.F32, (long) size * 2 * n);
        }

        @Override
        public Merged merge(Tensor gathered, int size) {
            float[] all = gathered.toFloatArray();
            float[] lse = new float[n];
            double[] zTarget = new double[n];
            for (int r = 0; r < n; r++) {
                double m = Double.NEGATIVE_INFINITY;
                for (int q = 0; q < size; q++) m = Math.max(m, all[q * 2 * n + r]);
                if (!Double.isFinite(m)) {
                    lse[r] = Float.NaN;
                    continue;
                }
                double s = 0;
                for (int q = 0; q < size; q++) {
                    s += Math.exp(all[q * 2 * n + r] - m);
                    zTarget[r] += all[q * 2 * n + n + r];
                }
                lse[r] = (float) (m + Math.log(s));
            }
            lseGlobal = lse;
            float lambda = o.zLossWeight();
            float[] token = new float[n];
            double total = 0;
            for (int r : pb.countingRows) {
                double l = lse[r];
                double v = pb.weightOfRow[r] * (l - zTarget[r] + lambda * l * l);
                token[r] = (float) v;
                total += v;
            }
            float lossValue = (float) (o.reduction() == Reduction.MEAN ? (pb.weightSum == 0 ? 0 : total / pb.weightSum) : total);
            Tensor tokenLoss = Tensor.of(token, pb.leadingShape);
            Tensor loss = o.reduction() == Reduction.NONE ? tokenLoss : Tensor.scalar(lossValue);
            return new Merged(loss, tokenLoss, Tensor.of(lse, pb.leadingShape), () -> lossValue, null);
        }

        @Override
        public Tensor upstream(Tensor upstream) {
            float[] scale = pb.upstreamScale(o.reduction(), upstream);
            double lambda = o.zLossWeight();
            float[] u = new float[n];
            correction = new double[n];
            for (int r : pb.countingRows) {
                float s = scale[r] * pb.weightOfRow[r];
                double f = Math.exp((double) lseLocal[r] - lseGlobal[r]);
                u[r] = (float) (s * f * (1 + 2 * lambda * lseGlobal[r]));
                // the inner backward subtracts u·onehot at the local column; the loss wants s·[target in shard] there
                correction[r] = ((double) u[r] - (inShard[r] ? s : 0)) * capDerivative[r];
            }
            return Tensor.of(u, pb.leadingShape);
        }

        @Override
        public void correct(Tensor partialDE, Tensor dC, Tensor dBias) {
            Tensor e = in.embeddings(), c = in.classifier();
            long d = pb.dim;
            for (int r : pb.countingRows) {
                double k = correction[r];
                if (k == 0) continue;
                int j = pb.targetOfRow[r];
                if (partialDE != null) {
                    for (long x = 0; x < d; x++) partialDE.setFloat(r * d + x, (float) (partialDE.getFloat(r * d + x) + k * c.getFloat(j * d + x)));
                }
                if (dC != null) {
                    for (long x = 0; x < d; x++) dC.setFloat(j * d + x, (float) (dC.getFloat(j * d + x) + k * e.getFloat(r * d + x)));
                }
                if (dBias != null) dBias.setFloat(j, (float) (dBias.getFloat(j) + k));
            }
        }

        @Override
        public Tensor zeros(long... shape) {
            return Tensor.zeros(DType.F32, shape);
        }

        @Override
        public void add(Tensor dst, Tensor src) {
            for (long x = 0; x < dst.numel(); x++) dst.setFloat(x, dst.getFloat(x) + src.getFloat(x));
        }

        @Override
        public void close() {}
    }
}
