package org.cce4j.trainer.distributed;

import org.cce4j.core.dist.Communicator;
import org.cce4j.core.dist.TcpCommunicator;
import org.cce4j.core.dist.TcpSetup;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.device.NcclCommunicator;
import org.cce4j.core.tensor.Device;

/**
 * The one place that turns a {@link DistributedEnv} into a {@link Communicator}: NCCL between CUDA
 * devices (the ranks meet over TCP at MASTER_ADDR:MASTER_PORT to share NCCL's unique id), TCP between
 * host processes (CPU data parallelism), a no-op for a single rank. The implementations are cce-core's
 * ({@code core.dist}, {@code core.device.NcclCommunicator}); tests that run ranks as threads of one JVM
 * pass their in-process communicators to the trainer directly.
 */
public final class Communicators {
    private Communicators() {}

    /** Whether this build can connect ranks in different processes (TCP on the CPU, NCCL on GPUs). */
    public static boolean crossProcessTransport() {
        return true;
    }

    /**
     * The communicator of this process's rank in the job {@code env} describes, for tensors on {@code device}.
     * Blocks until every rank has joined (the rendezvous at MASTER_ADDR:MASTER_PORT, within 300 s).
     */
    public static Communicator connect(DistributedEnv env, Device device) {
        if (!env.distributed()) return new SingleRankCommunicator();
        TcpSetup setup = TcpSetup.of(env.masterAddr(), env.masterPort(), env.rank(), env.worldSize());
        if (device.isCpu()) return TcpCommunicator.connect(setup);
        return NcclCommunicator.connect(CudaDevice.get(device), setup);
    }
}
