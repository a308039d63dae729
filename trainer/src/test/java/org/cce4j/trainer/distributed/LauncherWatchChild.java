package org.cce4j.trainer.distributed;

/** A stand-in rank for LauncherWatchTest: watches the launcher its environment names, then waits. */
public final class LauncherWatchChild {
    private LauncherWatchChild() {}

    public static void main(String[] args) throws InterruptedException {
        System.out.println("watching " + LauncherWatch.start(System.getenv(), System.err));
        System.out.flush();
        Thread.sleep(120_000);
        System.exit(0);
    }
}
