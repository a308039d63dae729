package org.cce4j.trainer.distributed;

import java.io.PrintStream;
import java.util.Map;
import java.util.Optional;

/**
 * A rank started by {@code train --gpus} ends when its launcher does. The launcher supervises its ranks
 * (a failed rank stops the others), but a launcher that is itself killed outright (SIGKILL, the OOM killer)
 * cannot pass anything on, and its ranks would train on, holding the GPUs, until a collective times out.
 * So the launcher names itself to each rank ({@link #VARIABLE}) and the rank watches that process: when it
 * exits, the rank says so in one line and halts. No file is left half-written by this: checkpoints are
 * written to a temporary name and renamed, and a run resumes from its last whole checkpoint.
 */
public final class LauncherWatch {
    /** The launcher's process id, set by {@link RankLauncher} in each rank's environment. */
    public static final String VARIABLE = "CCE4J_LAUNCHER_PID";
    /** The status a rank ends with when its launcher is gone (as after SIGTERM). */
    public static final int STATUS = 143;

    private LauncherWatch() {}

    /**
     * When {@code env} names a launcher, halts this process once that process has exited (at once when it
     * has exited already). Returns whether a launcher is being watched.
     */
    public static boolean start(Map<String, String> env, PrintStream err) {
        String pid = env.get(VARIABLE);
        if (pid == null || pid.isBlank()) return false;
        long id;
        try {
            id = Long.parseLong(pid.trim());
        } catch (NumberFormatException e) {
            return false;   // not ours to judge: a rank runs on without the watch
        }
        String rank = env.getOrDefault("RANK", "?");
        Optional<ProcessHandle> launcher = ProcessHandle.of(id);
        if (launcher.isEmpty() || !launcher.get().isAlive()) {
            stop(err, rank, id);
        }
        launcher.get().onExit().thenRun(() -> stop(err, rank, id));
        return true;
    }

    private static void stop(PrintStream err, String rank, long pid) {
        err.println("train: rank " + rank + ": its launcher (train --gpus, pid " + pid + ") exited; this rank stops");
        err.flush();
        Runtime.getRuntime().halt(STATUS);
    }
}
