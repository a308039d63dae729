package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.Device;

/**
 * The one place that turns a {@link DistributedEnv} into a {@link Communicator}: NCCL between CUDA
 * devices, TCP between host processes (CPU data parallelism), a no-op for a single rank. The
 * implementations live in cce-core's {@code core.dist} (issue 16); until they are wired in here, a job
 * of more than one process stops with one line saying so. Tests run several ranks as threads of one
 * JVM with their own in-process communicator and pass it to the trainer directly.
 */
public final class Communicators {
    private Communicators() {}

    /** Whether this build can connect ranks in different processes (TCP on the CPU, NCCL on GPUs). */
    public static boolean crossProcessTransport() {
        return false;
    }

    /**
     * The communicator of this process's rank in the job {@code env} describes, for tensors on {@code device}.
     * Blocks until every rank has joined (the rendezvous at MASTER_ADDR:MASTER_PORT).
     */
    public static Communicator connect(DistributedEnv env, Device device) {
        if (!env.distributed()) return new SingleRankCommunicator();
        throw new InvalidInputException("WORLD_SIZE " + env.worldSize() + ": training on several processes needs the "
                + (device.isCpu() ? "TCP host" : "NCCL") + " communicator of org.cce4j.core.dist, which this build does not have yet; run with one rank");
    }
}
