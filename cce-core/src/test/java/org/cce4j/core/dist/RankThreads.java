package org.cce4j.core.dist;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs one body per rank, each on its own thread, and hands back each rank's result or what it threw. */
public final class RankThreads {
    private RankThreads() {}

    /** What one rank's body returned, or threw. */
    public record Outcome<T>(T value, Throwable error) {
        public T get() {
            if (error != null) throw new AssertionError("the rank failed: " + error, error);
            return value;
        }
    }

    public interface Body<T> {
        T run(int rank) throws Exception;
    }

    /** Runs {@code body} for ranks 0..size-1 at once; fails the test if any is still running after {@code limitSeconds}. */
    public static <T> List<Outcome<T>> run(int size, long limitSeconds, Body<T> body) {
        ExecutorService pool = Executors.newFixedThreadPool(size);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < size; r++) {
                int rank = r;
                futures.add(pool.submit(() -> body.run(rank)));
            }
            List<Outcome<T>> out = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(limitSeconds);
            for (Future<T> f : futures) {
                try {
                    out.add(new Outcome<>(f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS), null));
                } catch (ExecutionException e) {
                    out.add(new Outcome<>(null, e.getCause()));
                } catch (TimeoutException e) {
                    throw new AssertionError("a rank still runs after " + limitSeconds + " s: a hang");
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The values of every rank, failing the test if one failed. */
    public static <T> List<T> values(List<Outcome<T>> outcomes) {
        List<T> v = new ArrayList<>();
        for (Outcome<T> o : outcomes) v.add(o.get());
        return v;
    }

}
