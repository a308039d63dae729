package org.cce4j.core.dist;

import org.cce4j.core.tensor.Tensor;

/**
 * A group of ranks that exchange tensors: the collective operations data-parallel training and the
 * vocabulary-parallel loss are built from, with one interface for NCCL on GPUs and for the host
 * implementations the CPU and the tests use. Every rank calls the same operations in the same order
 * with tensors of the same dtype and shape (the collective contract of NCCL and torch.distributed).
 * <pre>
 *   allReduceSum(t)            t ← Σ_ranks t                         (in place)
 *   reduceScatterSum(in, out)  out ← (Σ_ranks in)[rank·n, (rank+1)·n)  in: size·n elements, out: n
 *   allGather(in, out)         out[r·n, (r+1)·n) ← in of rank r        in: n elements, out: size·n
 *   broadcast(t, root)         t ← t of rank root                     (in place)
 * </pre>
 * Operations return when queued: on a device, after the communicator's stream has been told to wait for
 * the work queued so far on the compute stream; on the host, possibly after they completed.
 * {@link Work#await()} makes the caller's later work (the compute stream's, or the host's) wait for the
 * result. A failure of any rank (an error, a timeout, a rank that died) surfaces as a
 * {@link CommunicatorException} that names the operation, on every rank, never as a hang.
 * <p>
 * Implementations: {@link HostGroup} (ranks as threads of one JVM, host tensors), {@link TcpCommunicator}
 * (ranks as processes, host tensors), {@code org.cce4j.core.device.NcclCommunicator} (one GPU per rank).
 * The host ones sum in rank order in the tensor's own type and complete before returning; NCCL's sums
 * follow its own (ring or tree) order. A call that is wrong on one rank (a tensor of the wrong size, device
 * or dtype) fails the host groups at once, on every rank, naming the rank and the problem; NCCL's throws
 * {@link IllegalArgumentException} on that rank, and the others fail when their operation times out.
 * Operations are numbered from 1 per communicator in error messages ("all-reduce #17").
 */
public interface Communicator extends AutoCloseable {
    /** This rank, 0 ≤ rank < size. */
    int rank();

    /** The number of ranks. */
    int size();

    /** Element-wise sum over all ranks, in place. */
    Work allReduceSum(Tensor t);

    /** The element-wise sum over all ranks of {@code in}, of which this rank receives its slice in {@code out}. */
    Work reduceScatterSum(Tensor in, Tensor out);

    /** Every rank's {@code in}, concatenated in rank order, into {@code out}. */
    Work allGather(Tensor in, Tensor out);

    /** Rank {@code root}'s {@code t} into every rank's {@code t}. */
    Work broadcast(Tensor t, int root);

    /** Returns on every rank once every rank has called it (and all earlier operations completed). */
    void barrier();

    /** Frees the communicator; after a failure, aborts outstanding operations instead of waiting for them. */
    @Override
    void close();

    /** A queued collective operation. */
    interface Work {
        /** Orders the caller's later work after this operation's result (a stream wait on a device; blocks on the host). */
        void await();
    }
}
