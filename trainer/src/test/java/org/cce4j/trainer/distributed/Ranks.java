package org.cce4j.trainer.distributed;

import org.cce4j.core.dist.Communicator;
import org.cce4j.core.dist.HostGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one body per rank, each on its own thread with its rank's communicator of one HostGroup (closed
 * when the body ends, as a process exiting would: a rank that throws fails the others' collectives).
 */
final class Ranks {
    private Ranks() {}

    interface Body<T> {
        T run(Communicator comm) throws Exception;
    }

    /** What each rank returned or threw, rank order. */
    record Outcome<T>(T value, Throwable error) {}

    static <T> List<Outcome<T>> run(int n, Body<T> body) throws InterruptedException {
        HostGroup group = HostGroup.create(n);
        List<Communicator> comms = new ArrayList<>();
        for (int r = 0; r < n; r++) comms.add(group.rank(r));
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (Communicator c : comms) {
                futures.add(pool.submit(() -> {
                    try (c) {
                        return body.run(c);
                    }
                }));
            }
            List<Outcome<T>> out = new ArrayList<>();
            for (Future<T> f : futures) {
                try {
                    out.add(new Outcome<>(f.get(300, TimeUnit.SECONDS), null));
                } catch (ExecutionException e) {
                    out.add(new Outcome<>(null, e.getCause()));
                } catch (TimeoutException e) {
                    throw new AssertionError("a rank did not finish in 300 s (a hang)");
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The values, rethrowing the first rank's error. */
    static <T> List<T> values(List<Outcome<T>> outcomes) {
        List<T> v = new ArrayList<>();
        for (Outcome<T> o : outcomes) {
            if (o.error() != null) throw new AssertionError("a rank failed: " + o.error(), o.error());
            v.add(o.value());
        }
        return v;
    }
}
