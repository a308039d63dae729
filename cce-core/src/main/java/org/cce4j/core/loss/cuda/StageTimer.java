package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.CudaDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where one loss call spends its time, for the GPU notes: with {@code CCE4J_TRACE=1} each stage
 * boundary records a CUDA event on the device's stream, and closing prints one line to stderr with
 * the milliseconds between consecutive events (GPU timeline, so time the GPU waited for the host
 * counts against the stage that waited) and the host's own milliseconds. Off, every call is a no-op.
 */
final class StageTimer implements AutoCloseable {
    static final boolean ENABLED = "1".equals(System.getenv("CCE4J_TRACE"));

    private final CudaDevice dev;
    private final String what;
    private final List<CudaDevice.Event> events = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final List<Long> hostNanos = new ArrayList<>();

    private StageTimer(CudaDevice dev, String what) {
        this.dev = dev;
        this.what = what;
        mark("start");
    }

    static StageTimer start(CudaDevice dev, String what) {
        return ENABLED ? new StageTimer(dev, what) : null;
    }

    /** Marks the end of {@code stage} (no-op on a null timer). */
    static void mark(StageTimer t, String stage) {
        if (t != null) t.mark(stage);
    }

    private void mark(String stage) {
        CudaDevice.Event e = dev.event();
        e.record();
        events.add(e);
        names.add(stage);
        hostNanos.add(System.nanoTime());
    }

    @Override
    public void close() {
        mark("end");
        StringBuilder sb = new StringBuilder("[cce4j trace] ").append(what).append(':');
        CudaDevice.Event first = events.getFirst();
        for (int i = 1; i < events.size(); i++) {
            float ms = events.get(i).millisSince(events.get(i - 1));
            sb.append(String.format(Locale.ROOT, " %s %.3f (host %.3f)", names.get(i), ms,
                    (hostNanos.get(i) - hostNanos.get(i - 1)) / 1e6));
        }
        sb.append(String.format(Locale.ROOT, " | total %.3f ms", events.getLast().millisSince(first)));
        System.err.println(sb);
        for (CudaDevice.Event e : events) e.close();
    }
}
