package org.cce4j.core.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream beside a device's compute stream, ordered against it by events only:
 * <pre>
 *   compute: ──A──●record──────────────wait(m)──C──        side.waitForCompute(): B starts after A
 *   side:           wait──B──●m                            m = side.record(); m.makeComputeWait(): C after B
 * </pre>
 * The device's own work never waits for this stream unless asked, which is what lets a gradient
 * all-reduce run while the backward goes on. Not thread-safe: one thread queues on it at a time.
 */
public final class SideStream implements AutoCloseable {
    private final CudaDevice device;
    private final Driver driver;
    private final MemorySegment stream;
    /** Recorded on the compute stream for each {@link #waitForCompute}; re-recording is safe once waited on. */
    private final MemorySegment computeMark;
    private boolean closed;

    SideStream(CudaDevice device) {
        this.device = device;
        this.driver = device.driver();
        this.stream = driver.streamCreate(1); // CU_STREAM_NON_BLOCKING: no implicit sync with the legacy stream
        this.computeMark = driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
    }

    /** The CUstream (a cudaStream_t to the runtime libraries, such as NCCL). */
    public MemorySegment handle() {
        return stream;
    }

    public CudaDevice device() {
        return device;
    }

    /** Work queued here after this call starts after everything queued on the compute stream so far. */
    public void waitForCompute() {
        device.enter();
        driver.eventRecord(computeMark, device.stream());
        driver.streamWaitEvent(stream, computeMark);
    }

    /** A marker of the work queued here so far. */
    public Marker record() {
        device.enter();
        Marker m = new Marker();
        driver.eventRecord(m.event, stream);
        return m;
    }

    /** Blocks until everything queued here has completed. */
    public void synchronize() {
        device.enter();
        driver.streamSynchronize(stream);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        device.enter();
        driver.eventDestroy(computeMark);
        driver.streamDestroy(stream);
    }

    /** An event recorded on the side stream: completion can be polled, and the compute stream can wait for it. */
    public final class Marker implements AutoCloseable {
        private final MemorySegment event = driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
        private boolean closed;

        /** Whether the side-stream work before it has completed; throws when that work failed. */
        public boolean done() {
            device.enter();
            return driver.eventDone(event);
        }

        /** Compute-stream work queued after this call waits for the marked work (the host does not wait). */
        public void makeComputeWait() {
            device.enter();
            driver.streamWaitEvent(device.stream(), event);
        }

        /** Whether {@link #close()} has run (the event is gone; its owner closes it once the work is done). */
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            device.enter();
            driver.eventDestroy(event);
        }
    }
}
