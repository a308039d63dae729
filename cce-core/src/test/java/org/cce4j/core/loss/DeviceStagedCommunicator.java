package org.cce4j.core.loss;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.tensor.Tensor;

/**
 * A test-only {@link Communicator} over device tensors for ranks that share one GPU: each operation
 * downloads its device tensors, runs the host communicator's operation on the copies (a {@link
 * org.cce4j.core.dist.HostGroup} rank: sums in rank order, so every rank's result is the same bits) and
 * uploads the result. Slow and synchronous, which a test of the vocabulary-parallel loss does not mind;
 * it stands in for NCCL where a machine has one GPU.
 */
final class DeviceStagedCommunicator implements Communicator {
    private static final Work DONE = () -> {};
    private final Communicator host;
    private final CudaDevice dev;

    DeviceStagedCommunicator(Communicator host, CudaDevice dev) {
        this.host = host;
        this.dev = dev;
    }

    @Override
    public int rank() {
        return host.rank();
    }

    @Override
    public int size() {
        return host.size();
    }

    private Tensor toHost(Tensor t) {
        return t.device().isCpu() ? t : dev.download(t);
    }

    private void back(Tensor hostCopy, Tensor t) {
        if (hostCopy != t) {
            dev.copyToDevice(hostCopy.data(), t.address(), t.byteSize());
            hostCopy.close();
        }
    }

    @Override
    public Work allReduceSum(Tensor t) {
        Tensor h = toHost(t);
        host.allReduceSum(h).await();
        back(h, t);
        return DONE;
    }

    @Override
    public Work reduceScatterSum(Tensor in, Tensor out) {
        Tensor hi = toHost(in), ho = toHost(out);
        host.reduceScatterSum(hi, ho).await();
        if (hi != in) hi.close();
        back(ho, out);
        return DONE;
    }

    @Override
    public Work allGather(Tensor in, Tensor out) {
        Tensor hi = toHost(in), ho = toHost(out);
        host.allGather(hi, ho).await();
        if (hi != in) hi.close();
        back(ho, out);
        return DONE;
    }

    @Override
    public Work broadcast(Tensor t, int root) {
        Tensor h = toHost(t);
        host.broadcast(h, root).await();
        back(h, t);
        return DONE;
    }

    @Override
    public void barrier() {
        host.barrier();
    }

    @Override
    public void close() {
        host.close();
    }
}
