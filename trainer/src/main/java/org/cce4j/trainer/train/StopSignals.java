package org.cce4j.trainer.train;

import sun.misc.Signal;

import java.util.concurrent.atomic.AtomicReference;

/**
 * SIGINT and SIGTERM ask the run to stop: the step in progress finishes, a checkpoint is written, and
 * the process exits 130 or 143 (128 + the signal number, as shells report it). A second signal while
 * the checkpoint is written is ignored: the write is what protects the user's work. Installed only by
 * the command line (a library caller keeps its own signal handling).
 */
public class StopSignals {
    private final AtomicReference<String> requested = new AtomicReference<>();

    /** Handlers for INT and TERM that record the request; returns the holder the loop polls. */
    StopSignals() {}

    public static StopSignals install() {
        StopSignals s = new StopSignals();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), sig -> s.requested.compareAndSet(null, sig.getName()));
            } catch (IllegalArgumentException e) {
                // the signal is not available on this platform, or the JVM reserves it (-Xrs): nothing to install
            }
        }
        return s;
    }

    /** A holder no signal reaches (library use, tests); {@link #request} sets it. */
    public static StopSignals none() {
        return new StopSignals();
    }

    /** A holder that asks to stop (as TERM) at its {@code n}-th poll, i.e. after step n of a fresh run: for tests. */
    static StopSignals afterPolls(int n) {
        return new StopSignals() {
            private int polls;

            @Override
            public String requested() {
                if (++polls >= n) request("TERM");
                return super.requested();
            }
        };
    }

    public void request(String signal) {
        requested.compareAndSet(null, signal);
    }

    /** The signal that asked to stop ("INT", "TERM"), or null. */
    public String requested() {
        return requested.get();
    }

    /** The exit status for a stop by {@code signal}: 130 for INT, 143 for TERM. */
    public static int exitStatus(String signal) {
        return "INT".equals(signal) ? 130 : 143;
    }
}
