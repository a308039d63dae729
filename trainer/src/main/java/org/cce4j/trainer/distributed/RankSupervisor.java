package org.cce4j.trainer.distributed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the processes of the ranks of one node and watches them, as torchrun's agent does: rank 0's
 * output passes through as it is, the others' lines (they print only their errors) come prefixed with
 * {@code [rank k]}; the JVM's "Using incubator modules" warning is dropped from all of them (the
 * parent's launcher already shows or drops its own). When a rank exits with a non-zero status that no
 * forwarded signal asked for, the others get a short grace to exit on their own (they usually fail in
 * their collective), are then killed, and one line names the rank and its status, which is the
 * supervisor's. SIGINT and SIGTERM are forwarded to every rank, which then checkpoints together and
 * exits 130 or 143; the supervisor waits for all of them and exits with their status.
 */
public final class RankSupervisor {
    /** How long the others may take to exit on their own after one failed, before they are killed. */
    static final long GRACE_MS = 5_000;
    static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: jdk.incubator.vector";

    private final List<Process> processes = new ArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();
    private final PrintWriter out, err;
    private volatile String forwarded;

    private RankSupervisor(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
    }

    /** A rank's process: its command and the variables added to this process's environment. */
    public record Child(List<String> command, Map<String, String> env) {}

    /**
     * Starts every child, rank order, and returns the job's exit status once all have exited.
     *
     * @param onStart given the supervisor once the children run (the command line installs its signal forwarding there)
     */
    public static int run(List<Child> children, PrintWriter out, PrintWriter err, java.util.function.Consumer<RankSupervisor> onStart)
            throws IOException, InterruptedException {
        RankSupervisor s = new RankSupervisor(out, err);
        LinkedBlockingQueue<int[]> exits = new LinkedBlockingQueue<>();
        try {
            for (int r = 0; r < children.size(); r++) {
                ProcessBuilder pb = new ProcessBuilder(children.get(r).command())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                pb.environment().putAll(children.get(r).env());
                Process p = pb.start();
                s.processes.add(p);
                int rank = r;
                s.pump(p.getInputStream(), rank == 0 ? out : err, rank == 0 ? "" : "[rank " + rank + "] ");
                s.pump(p.getErrorStream(), err, rank == 0 ? "" : "[rank " + rank + "] ");
                p.onExit().thenAccept(done -> exits.add(new int[] {rank, done.exitValue()}));
            }
        } catch (IOException | RuntimeException e) {
            s.kill();
            throw e;
        }
        onStart.accept(s);
        int status = 0, left = children.size();
        while (left > 0) {
            int[] e = exits.take();
            left--;
            boolean asked = s.forwarded != null && (e[1] == 130 || e[1] == 143);
            if (e[1] != 0 && !asked) {
                s.stopOthers(e[0]);
                s.drain();
                err.println("train: rank " + e[0] + " exited with status " + e[1] + "; stopped the other ranks");
                err.flush();
                return e[1];
            }
            if (e[1] != 0) status = e[1];
        }
        s.drain();
        return status;
    }

    /** Sends {@code signal} ("INT" or "TERM") to every rank still running. */
    public void forward(String signal) {
        forwarded = signal;
        for (Process p : processes) {
            if (!p.isAlive()) continue;
            if (signal.equals("TERM")) {
                p.toHandle().destroy();   // not Process.destroy(), which also closes the pipes the rank's last lines come through
            } else {
                try {
                    new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor();
                } catch (IOException e) {
                    p.toHandle().destroy();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private void stopOthers(int failed) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GRACE_MS);
        for (int r = 0; r < processes.size(); r++) {
            if (r == failed) continue;
            long left = deadline - System.nanoTime();
            if (left > 0) processes.get(r).waitFor(left, TimeUnit.NANOSECONDS);
        }
        kill();
    }

    private void kill() {
        for (Process p : processes) {
            if (!p.isAlive()) continue;
            List<ProcessHandle> descendants = p.toHandle().descendants().toList();   // before the rank, so that none is missed
            p.toHandle().destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);                       // after it, so that it cannot go on when they end
        }
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void pump(InputStream in, PrintWriter to, String prefix) {
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.equals(INCUBATOR_WARNING)) continue;
                    synchronized (to) {
                        to.println(prefix + line);
                        to.flush();
                    }
                }
            } catch (IOException e) {
                // the process is gone: nothing more to copy
            }
        });
        pumps.add(t);
    }

    /** Waits for the children's last lines to be copied. */
    private void drain() throws InterruptedException {
        for (Thread t : pumps) t.join(5_000);
    }
}
