package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.optim.AdamW;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.TransformerModel;

import java.util.List;
import java.util.Map;

/**
 * What the training loop does differently when several ranks train one model (docs/training.md,
 * "Several GPUs"): the same global batch as one GPU, its micro-batches dealt round-robin (micro-batch i
 * of a step to rank i mod N), each rank's gradients summed over all ranks ({@link GradientSync}), the
 * loss sum and the evaluation's sums all-reduced as f64, and the weights compared across ranks
 * ({@link #checkWeightsAgree}). With {@code zero}, ZeRO-1 ({@link ShardedAdamW}): the gradients are
 * reduce-scattered, each rank keeps the optimizer state of its shard of every bucket, updates it, and
 * the new weights are all-gathered.
 * <p>
 * Every method is collective unless it says otherwise: every rank calls it, in the same order. A job
 * of one rank never calls them (the loop keeps the single-GPU path exactly).
 */
public final class DataParallel implements AutoCloseable {
    /** The elements the weight check converts at a time (64 MB of f32). */
    private static final long CHECK_CHUNK = 1L << 24;
    private final Communicator comm;
    private final boolean zero;
    private final long bucketBytes;
    private Backend be;
    private GradientSync sync;
    /** The trainable parameters, in the model's order (the optimizer's and the checkpoint's). */
    private List<Parameter> trainable;
    /** With ZeRO-1: the sharded optimizer, instead of the session's AdamW. */
    private ShardedAdamW sharded;

    public DataParallel(Communicator comm, boolean zero) {
        this(comm, zero, BucketPlan.DEFAULT_CAP_BYTES);
    }

    public DataParallel(Communicator comm, boolean zero, long bucketBytes) {
        this.comm = comm;
        this.zero = zero;
        this.bucketBytes = bucketBytes;
    }

    public int rank() {
        return comm.rank();
    }

    public int size() {
        return comm.size();
    }

    public boolean zero() {
        return zero;
    }

    public Communicator communicator() {
        return comm;
    }

    /**
     * The device a rank computes on: its local rank's GPU when the config asks for CUDA or for nothing
     * (and CUDA is usable), the CPU when it asks for the CPU. Where the launcher gives each rank one GPU
     * of its own (SLURM's --gpus-per-task, CUDA_VISIBLE_DEVICES naming one device), that one, cuda:0.
     * Not collective.
     *
     * @param visibleDevices CUDA_VISIBLE_DEVICES, or null when it is not set
     * @param cudaUsable     whether CUDA device 0 can be opened (asked only when the config names no device)
     */
    public static String rankDevice(String configured, int localRank, String visibleDevices, java.util.function.BooleanSupplier cudaUsable) {
        if (configured != null && configured.strip().equals("cpu")) return "cpu";
        if ((configured == null || configured.isBlank()) && !cudaUsable.getAsBoolean()) return "cpu";
        int visible = visibleDevices == null || visibleDevices.isBlank() ? -1 : visibleDevices.split(",").length;
        int ordinal = visible == 1 ? 0 : localRank;
        if (visible > 1 && localRank >= visible) {
            throw new InvalidInputException("LOCAL_RANK " + localRank + " has no GPU: CUDA_VISIBLE_DEVICES lists " + visible + " (" + visibleDevices.strip()
                    + "); start at most " + visible + " ranks on this node");
        }
        String d = configured == null || configured.isBlank() ? "cuda" : configured.strip();
        if (d.equals("cuda") || d.equals("cuda:" + ordinal)) return "cuda:" + ordinal;
        throw new InvalidInputException("device " + d + ": each rank uses the GPU of its LOCAL_RANK (this one cuda:" + ordinal
                + "); set device to cuda or leave it out");
    }

    /** The rule that lets every rank hold the same number of micro-batches of a full step. Not collective. */
    public static void checkGradAccum(int gradAccum, int ranks) {
        if (gradAccum % ranks != 0) {
            int lower = gradAccum / ranks * ranks, higher = lower + ranks;
            throw new InvalidInputException("train.grad_accum " + gradAccum + " is not a multiple of the " + ranks
                    + " ranks: each rank takes every " + ranks + "-th micro-batch of a step (set train.grad_accum to "
                    + (lower > 0 ? lower + " or " : "") + higher + ")");
        }
    }

    /** The indices of the step's micro-batches this rank computes: i with i mod N = rank. Not collective. */
    public int[] microBatchesOf(int count) {
        int n = count <= rank() ? 0 : (count - rank() + size() - 1) / size();
        int[] out = new int[n];
        for (int j = 0; j < n; j++) out[j] = rank() + j * size();
        return out;
    }

    /**
     * The parameters the session's AdamW keeps state for: all of them, or with ZeRO-1 none (the sharded
     * optimizer keeps this rank's part). Remembers the list (the checkpoint's order). Not collective.
     */
    public List<Parameter> optimizerShare(List<Parameter> trainableParams) {
        this.trainable = List.copyOf(trainableParams);
        return zero ? List.of() : trainable;
    }

    /** Prepares the gradient buckets of {@code model} (after its adapters are attached) and, with ZeRO-1, the sharded AdamW. Not collective. */
    public void attach(TransformerModel model, Backend backend, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) {
        this.be = backend;
        this.sync = new GradientSync(backend, comm, model, bucketBytes, zero);
        if (zero) this.sharded = new ShardedAdamW(backend, comm, sync, beta1, beta2, eps, weightDecay, maxGradNorm);
    }

    /** The backend the scalar collectives and the weight checks go through, without a model (tests). Not collective. */
    void attachBackend(Backend backend) {
        this.be = backend;
    }

    /** What the rank's last micro-batch of a step passes to the backward. Not collective. */
    public TransformerModel.GradientsReady gradientsReady() {
        return sync.hook();
    }

    /** Sums the step's gradients over the ranks (after this rank's micro-batches, possibly none). */
    public void reduceGradients() {
        sync.finish();
    }

    /** Element-wise sums over the ranks, in f64 (through a device tensor: NCCL reduces device memory). */
    public double[] sum(double... values) {
        try (Tensor host = Tensor.zeros(DType.F64, values.length)) {
            for (int i = 0; i < values.length; i++) host.setDouble(i, values[i]);
            try (Tensor dev = be.upload(host, DType.F64)) {
                comm.allReduceSum(dev).await();
                try (Tensor back = be.download(dev)) {
                    return back.toDoubleArray();
                }
            }
        }
    }

    /** The stop signal every rank agrees on: any rank's request stops all of them after the same step (TERM over INT). */
    public String agreeOnStop(String requested) {
        double[] v = sum("INT".equals(requested) ? 1 : 0, "TERM".equals(requested) ? 1 : 0);
        return v[1] > 0 ? "TERM" : v[0] > 0 ? "INT" : null;
    }

    /**
     * The squared global gradient norm, a device f64 [1]: with every rank's gradients summed it is the
     * optimizer's own; with ZeRO-1, the all-reduced sum of the squares of each rank's shards.
     */
    public Tensor gradSumOfSquares(AdamW optimizer) {
        return zero ? sharded.gradSumOfSquares() : optimizer.gradSumOfSquares();
    }

    /** The update: the session's AdamW on the summed gradients, or ZeRO-1's on this rank's shards and the all-gather of the weights. */
    public void step(AdamW optimizer, double lr, Tensor sumOfSquares) {
        if (zero) sharded.step(lr, sumOfSquares);
        else optimizer.step(lr, sumOfSquares);
    }

    /** ZeRO-1: this rank's part of a checkpoint's optimizer state and the master weights (not collective). */
    public void restoreSharded(java.nio.file.Path stateFile, long steps) throws java.io.IOException {
        sharded.restore(stateFile, steps);
    }

    /** Bytes of optimizer state this object keeps (ZeRO-1's shards; 0 without: the session's AdamW keeps it). Not collective. */
    public long stateBytes() {
        return zero ? sharded.stateBytes() : 0;
    }

    /**
     * Compares two sums of every parameter across the ranks, Σv² and Σ(v + 1)² (f64; v + 1 in the
     * backend's compute dtype, each sum over f32; the second differs from the first by 2Σv + n, so a sign flip shows too), and stops with one
     * line naming the first parameter that differs: the ranks must hold the same weights, bit for bit,
     * since every one applies the same update to the same summed gradients.
     */
    public void checkWeightsAgree(List<Parameter> params, String when) {
        int n = params.size();
        long largest = 1;
        for (Parameter p : params) largest = Math.max(largest, p.value().numel());
        long chunk = Math.min(largest, CHECK_CHUNK);
        DType compute = be.computeDType();
        try (Tensor acc = be.zeros(DType.F64, 2L * n); Tensor all = be.zeros(DType.F64, 2L * n * size()); Tensor ones = ones(chunk, compute);
             Tensor f = be.empty(DType.F32, chunk); Tensor shifted = be.empty(compute, chunk)) {
            for (int i = 0; i < n; i++) {
                Tensor v = params.get(i).value();
                Tensor flat = v.reshape(v.numel());
                for (long a = 0; a < v.numel(); a += chunk) {   // in chunks, so that the check needs little memory beside the largest parameter
                    long len = Math.min(chunk, v.numel() - a);
                    Tensor part = flat.slice(a, a + len), f32 = f.slice(0, len);
                    be.copy(part, f32);
                    be.sumOfSquares(f32, acc.slice(2L * i, 2L * i + 1));
                    if (v.dtype() == compute) {   // the backend adds in its compute dtype (a parameter of another one gets 0 on every rank)
                        Tensor sh = shifted.slice(0, len);
                        be.add(part, ones.slice(0, len), sh);
                        be.copy(sh, f32);
                        be.sumOfSquares(f32, acc.slice(2L * i + 1, 2L * i + 2));
                    }
                }
            }
            comm.allGather(acc, all).await();
            try (Tensor h = be.download(all)) {
                for (int i = 0; i < n; i++) {
                    for (int r = 1; r < size(); r++) {
                        for (int k = 0; k < 2; k++) {
                            double mine = h.getDouble(2L * i + k), other = h.getDouble(2L * r * n + 2L * i + k);
                            if (Double.doubleToLongBits(other) != Double.doubleToLongBits(mine)) {
                                throw new IllegalStateException(when + ": the ranks hold different weights: " + params.get(i).name() + " has "
                                        + (k == 0 ? "sum of squares " : "sum of (value + 1)² ") + mine + " on rank 0 and " + other + " on rank " + r
                                        + " (a rank computed a different update: a bug, or a device that corrupts memory)");
                            }
                        }
                    }
                }
            }
        }
    }

    private Tensor ones(long n, DType dtype) {
        try (Tensor host = Tensor.zeros(DType.F32, n)) {
            for (long i = 0; i < n; i++) host.setFloat(i, 1f);
            return be.upload(host, dtype);
        }
    }

    /**
     * ZeRO-1's optimizer state in the single-GPU layout (exp_avg.NAME, exp_avg_sq.NAME, master.NAME, as
     * {@code CheckpointState.hostState} gives it for one rank), as host tensors on rank 0 (empty
     * elsewhere), gathered bucket by bucket.
     *
     * @param modelFileType the dtype of the model files: f32 parameters get a master entry when it is narrower
     */
    public Map<String, Tensor> gatherState(DType modelFileType) {
        return sharded.hostState(trainable, modelFileType);
    }

    /** Returns once every rank has called it. */
    public void barrier() {
        comm.barrier();
    }

    /** Frees the buckets' and the shards' memory (not the communicator: its owner closes it). */
    @Override
    public void close() {
        if (sharded != null) sharded.close();
        if (sync != null) sync.close();
    }
}
