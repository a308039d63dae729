package org.cce4j.core.loss.cpu;

import org.cce4j.core.cpu.CpuParallel;

/**
 * Runs every (row group, vocabulary group) pair exactly once, in rounds where no two running
 * tasks share a row group or a vocabulary group:
 * <pre>
 *   M = max(rowGroups, vocabGroups);   round r runs (i, (i + r) mod M) for every row group i
 *           vocab group →  0 1 2 3
 *   row group 0           r0 r1 r2 r3
 *   row group 1           r3 r0 r1 r2
 *   row group 2           r2 r3 r0 r1
 * </pre>
 * So a task owns its rows' state (online LSE, dE) and its vocabulary's state (dC, dBias, logit
 * sums) without locks, and every accumulation happens in an order fixed by the grid, not by the
 * thread scheduler: results are the same from run to run.
 */
final class LatinSchedule {
    interface Task {
        void run(int rowGroup, int vocabGroup);
    }

    private LatinSchedule() {}

    static void run(int rowGroups, int vocabGroups, Task task) {
        int m = Math.max(rowGroups, vocabGroups);
        for (int r = 0; r < m; r++) {
            int round = r;
            CpuParallel.forEach(rowGroups, i -> {
                int j = (i + round) % m;
                if (j < vocabGroups) task.run(i, j);
            });
        }
    }
}
