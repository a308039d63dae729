package org.cce4j.core.dist;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.ServiceLoader;
import java.util.function.DoubleSupplier;

/**
 * The per-row arithmetic of {@link VocabParallelCrossEntropy} on the device its tensors live on: the target
 * logits, the merge of the gathered partial LSEs, the upstream factors and the rank-one correction. The
 * collectives and the inner loss stay in {@link VocabParallelCrossEntropy}; what reads E, C or per-row
 * values is here, so that this package needs no CUDA import (design.md: {@code core.device} and
 * {@code core.loss.cuda} are where tensors meet CUDA). The host implementation is {@link HostVocabParallelOps};
 * others register under {@code META-INF/services/org.cce4j.core.dist.VocabParallelOps} (the CUDA one is
 * {@code org.cce4j.core.loss.cuda.CudaVocabParallelOps}) and are found as the losses are.
 */
public interface VocabParallelOps {
    /** Whether these operations work on tensors of {@code device}. */
    boolean supports(Device device);

    /** A host copy of a tensor of a supported device (targets and token weights are validated on the host). */
    Tensor toHost(Tensor t);

    /** A copy of the host tensor {@code host} on {@code device} (what the communicator of that device takes). */
    Tensor copyTo(Tensor host, Device device);

    /**
     * One forward's rows: {@code localIn} holds E, this rank's C and bias shard, and host int64 targets
     * that are each row's local column (0 where the target is in another shard); {@code local} is the
     * inner loss's forward over them (reduction none), {@code inShard} per row whether its target is here.
     */
    Rows start(CceInputs localIn, CceForward local, CceProblem problem, boolean[] inShard, CceOptions options);

    /** What one forward and its backward compute per row, on the tensors' device; holds what the backward needs. */
    interface Rows extends AutoCloseable {
        /** [2N] f32, a new tensor the caller closes: this rank's lse per row, then the target logit where the target is in this shard (0 elsewhere). */
        Tensor partials();

        /** A [size·2N] f32 tensor to all-gather the partials into. */
        Tensor gatherBuffer(int size);

        /** The global LSE and the losses from the gathered partials of {@code size} ranks. */
        Merged merge(Tensor gathered, int size);

        /** The inner backward's per-row upstream (the leading shape) for the caller's {@code upstream}; remembers the correction. */
        Tensor upstream(Tensor upstream);

        /** The rank-one correction at each row's local column, into any of the (not yet reduced) dE, dC, dBias that are not null. */
        void correct(Tensor partialDE, Tensor dC, Tensor dBias);

        /** An f32 tensor of zeros of this shape on the device. */
        Tensor zeros(long... shape);

        /** {@code dst += src}, both f32 of one shape. */
        void add(Tensor dst, Tensor src);

        @Override
        void close();
    }

    /**
     * The merged forward: {@code loss} (the reduced scalar, or the token losses for reduction none; owned by
     * the caller), the token losses and LSE of the leading shape, the reduced value, and {@code keep}, a
     * tensor to close with the forward (or null).
     */
    record Merged(Tensor loss, Tensor tokenLoss, Tensor lse, DoubleSupplier lossValue, Tensor keep) {}

    /** The operations for tensors on {@code device}: the host's, or the first registered one that supports it. */
    static VocabParallelOps forDevice(Device device) {
        if (device.isCpu()) return HostVocabParallelOps.INSTANCE;
        for (VocabParallelOps ops : ServiceLoader.load(VocabParallelOps.class, VocabParallelOps.class.getClassLoader())) {
            if (ops.supports(device)) return ops;
        }
        throw new InvalidInputException("the vocabulary-parallel loss has no implementation for " + device
                + " on the class path (META-INF/services/" + VocabParallelOps.class.getName() + ")");
    }
}
