package org.cce4j.core.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * One fork-join pool for the CPU kernels, sized to the machine (or to the system property
 * {@code cce4j.threads}), so that the loss does not compete with whatever uses the common pool.
 */
public final class CpuParallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("cce4j.threads", Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
        var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("cce4j-cpu-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    private CpuParallel() {}

    public static int threads() {
        return THREADS;
    }

    /** Runs body(0) ... body(count-1) on the pool and waits for all of them. */
    public static void forEach(int count, IntConsumer body) {
        if (count == 1 || THREADS == 1) {
            for (int i = 0; i < count; i++) body.accept(i);
            return;
        }
        POOL.submit(() -> IntStream.range(0, count).parallel().forEach(body)).join();
    }
}
