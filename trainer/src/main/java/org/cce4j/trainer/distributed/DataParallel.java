package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.optim.AdamW;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.TransformerModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the training loop does differently when several ranks train one model (docs/training.md,
 * "Several GPUs"): the same global batch as one GPU, its micro-batches dealt round-robin (micro-batch i
 * of a step to rank i mod N), each rank's gradients summed over all ranks ({@link GradientSync}), the
 * loss sum and the evaluation's sums all-reduced as f64, and the weights compared across ranks
 * ({@link #checkWeightsAgree}). With {@code zero}, ZeRO-1: each rank keeps the optimizer state of the
 * parameters it owns ({@link OwnerPlan}), updates those, and broadcasts them to the others.
 * <p>
 * Every method is collective unless it says otherwise: every rank calls it, in the same order. A job
 * of one rank never calls them (the loop keeps the single-GPU path exactly).
 */
public final class DataParallel {
    private final Communicator comm;
    private final boolean zero;
    private final long bucketBytes;
    private Backend be;
    private GradientSync sync;
    /** The trainable parameters, in the model's order (the optimizer's and the checkpoint's), and their owners. */
    private List<Parameter> trainable;
    private OwnerPlan owners;

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
     * (and CUDA is usable), the CPU when it asks for the CPU. Not collective.
     *
     * @param cudaUsable whether CUDA device 0 can be opened (asked only when the config names no device)
     */
    public static String rankDevice(String configured, int localRank, java.util.function.BooleanSupplier cudaUsable) {
        if (configured == null || configured.isBlank()) return cudaUsable.getAsBoolean() ? "cuda:" + localRank : "cpu";
        String d = configured.strip();
        if (d.equals("cpu")) return d;
        if (d.equals("cuda")) return "cuda:" + localRank;
        if (d.equals("cuda:" + localRank)) return d;
        throw new InvalidInputException("device " + d + ": each rank uses the GPU of its LOCAL_RANK (this one cuda:" + localRank
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
     * The parameters whose optimizer state this rank keeps: all of them, or with ZeRO-1 its own.
     * Remembers the list (the order the optimizer and the checkpoint use). Not collective.
     */
    public List<Parameter> optimizerShare(List<Parameter> trainableParams) {
        this.trainable = List.copyOf(trainableParams);
        this.owners = OwnerPlan.of(trainable.stream().mapToLong(p -> p.value().numel()).toArray(), size());
        if (!zero) return trainable;
        List<Parameter> mine = new ArrayList<>();
        for (int i = 0; i < trainable.size(); i++) if (owners.owns(rank(), i)) mine.add(trainable.get(i));
        return mine;
    }

    /** Prepares the gradient buckets of {@code model} (after its adapters are attached). Not collective. */
    public void attach(TransformerModel model, Backend backend) {
        this.be = backend;
        this.sync = new GradientSync(backend, comm, model, bucketBytes);
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
     * optimizer's own; with ZeRO-1, the sum over ranks of the squares each owns.
     */
    public Tensor gradSumOfSquares(AdamW optimizer) {
        Tensor sq = optimizer.gradSumOfSquares();
        if (zero) comm.allReduceSum(sq).await();
        return sq;
    }

    /** After the optimizer's step: with ZeRO-1, every parameter's new value from its owner to the others. */
    public void afterStep() {
        if (zero) broadcastOwned();
    }

    /** Each trainable parameter's value from its owner (after a ZeRO-1 step or restore). */
    public void broadcastOwned() {
        for (int i = 0; i < trainable.size(); i++) comm.broadcast(trainable.get(i).value(), owners.owner()[i]).await();
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
        DType compute = be.computeDType();
        try (Tensor acc = be.zeros(DType.F64, 2L * n); Tensor all = be.zeros(DType.F64, 2L * n * size()); Tensor ones = ones(largest, compute)) {
            for (int i = 0; i < n; i++) {
                Tensor v = params.get(i).value();
                try (Tensor f = be.empty(DType.F32, v.shape())) {
                    be.copy(v, f);
                    be.sumOfSquares(f, acc.slice(2L * i, 2L * i + 1));
                    if (v.dtype() == compute) {   // the backend adds in its compute dtype (a parameter of another one gets 0 on every rank)
                        try (Tensor shifted = be.empty(compute, v.shape())) {
                            be.add(v, ones.slice(0, v.numel()).reshape(v.shape()), shifted);
                            be.copy(shifted, f);
                            be.sumOfSquares(f, acc.slice(2L * i + 1, 2L * i + 2));
                        }
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
     * The optimizer state in the single-GPU layout (exp_avg.NAME, exp_avg_sq.NAME, master.NAME; as
     * {@code CheckpointState.hostState} writes it), as host tensors on rank 0 (empty elsewhere): with
     * ZeRO-1 each parameter's from its owner, one parameter at a time so that no rank ever holds the
     * whole state on its device.
     *
     * @param modelFileType the dtype of the model files: f32 parameters get a master entry when it is narrower
     */
    public Map<String, Tensor> gatherState(AdamW optimizer, DType modelFileType) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, Tensor> extraMasters = new LinkedHashMap<>();
        try {
            for (int i = 0; i < trainable.size(); i++) {
                Parameter p = trainable.get(i);
                int owner = owners.owner()[i];
                AdamW.State st = !zero || owner == rank() ? optimizer.states().get(p.name()) : null;
                boolean hasMaster = p.value().dtype() != DType.F32;
                gather(st == null ? null : st.m(), p, owner, "exp_avg." + p.name(), out);
                gather(st == null ? null : st.v(), p, owner, "exp_avg_sq." + p.name(), out);
                if (hasMaster) gather(st == null ? null : st.master(), p, owner, "master." + p.name(), out);
                else if (modelFileType != DType.F32 && rank() == 0) extraMasters.put("master." + p.name(), be.downloadF32(p.value()));
            }
            out.putAll(extraMasters);
            return out;
        } catch (RuntimeException | Error e) {
            out.values().forEach(Tensor::close);
            extraMasters.values().forEach(Tensor::close);
            throw e;
        }
    }

    private void gather(Tensor owned, Parameter p, int owner, String name, Map<String, Tensor> out) {
        Tensor t = owned != null ? owned : be.empty(DType.F32, p.value().shape());
        try {
            if (zero) comm.broadcast(t, owner).await();
            if (rank() == 0) out.put(name, be.download(t));
        } finally {
            if (owned == null) t.close();
        }
    }

    /** Returns once every rank has called it. */
    public void barrier() {
        comm.barrier();
    }
}
