package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;

import java.util.Map;

/**
 * Where this process stands in a data-parallel job, read from the variables the launchers set, so that
 * {@code train} runs unchanged under torchrun, SLURM's srun, Kubeflow's PyTorchJob or our own
 * {@code train --gpus N} (which sets torchrun's variables for its children):
 * <pre>
 *   torchrun, train --gpus   WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
 *   Kubeflow PyTorchJob      WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT          (one process per pod: local rank 0 of 1)
 *   without RANK             NODE_RANK · LOCAL_WORLD_SIZE + LOCAL_RANK
 *   SLURM (srun), fallback   SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID, SLURM_NTASKS_PER_NODE; MASTER_ADDR/PORT set by the batch script
 *                            (only in a task of an srun step, SLURM_STEP_ID set: the batch script itself is one process)
 *   none of them             a single process: rank 0 of 1
 * </pre>
 * One process per GPU (see {@link RankLauncher} for why): the local rank is the CUDA device a rank
 * uses. A value that is not a number or out of range is one line naming the variable.
 *
 * @param localWorldSize ranks on this node, or 0 when the launcher does not say (SLURM with uneven tasks)
 * @param masterAddr     the rendezvous host of rank 0; null in a single process
 * @param masterPort     its port; 0 in a single process
 * @param launcher       which variables it was read from: "torchrun", "slurm" or "single"
 */
public record DistributedEnv(int worldSize, int rank, int localRank, int localWorldSize, String masterAddr, int masterPort, String launcher) {
    /** The port torchrun uses when none is given. */
    public static final int DEFAULT_PORT = 29500;

    /** A single process, rank 0 of 1. */
    public static DistributedEnv single() {
        return new DistributedEnv(1, 0, 0, 1, null, 0, "single");
    }

    /** Whether there are other ranks. */
    public boolean distributed() {
        return worldSize > 1;
    }

    /** Reads the environment of this process. */
    public static DistributedEnv fromSystem() {
        return parse(System.getenv());
    }

    /** The job as {@code env} describes it (see the class comment for the variables and their precedence). */
    public static DistributedEnv parse(Map<String, String> env) {
        if (present(env, "WORLD_SIZE")) return torchrun(env);
        if (present(env, "SLURM_NTASKS") && (present(env, "SLURM_STEP_ID") || present(env, "SLURM_STEPID"))) return slurm(env);
        for (String v : new String[] {"RANK", "LOCAL_RANK", "NODE_RANK"}) {
            if (present(env, v)) throw new InvalidInputException("environment variable " + v + " is set but WORLD_SIZE is not: set WORLD_SIZE to the number of ranks");
        }
        return single();
    }

    private static DistributedEnv torchrun(Map<String, String> env) {
        int world = integer(env, "WORLD_SIZE", 1, Integer.MAX_VALUE);
        int localWorld = present(env, "LOCAL_WORLD_SIZE") ? integer(env, "LOCAL_WORLD_SIZE", 1, world) : 0;
        int localRank = present(env, "LOCAL_RANK") ? integer(env, "LOCAL_RANK", 0, (localWorld > 0 ? localWorld : world) - 1) : 0;
        int rank;
        if (present(env, "RANK")) {
            rank = integer(env, "RANK", 0, world - 1);
        } else if (present(env, "NODE_RANK")) {
            if (localWorld == 0) throw new InvalidInputException("environment variable NODE_RANK is set without RANK or LOCAL_WORLD_SIZE: set RANK, or LOCAL_WORLD_SIZE and LOCAL_RANK");
            if (!present(env, "LOCAL_RANK")) throw new InvalidInputException("environment variable NODE_RANK is set without RANK or LOCAL_RANK: set RANK, or LOCAL_RANK");
            int node = integer(env, "NODE_RANK", 0, Integer.MAX_VALUE);
            long r = (long) node * localWorld + localRank;
            if (r >= world) {
                throw new InvalidInputException("environment variable NODE_RANK " + node + ": NODE_RANK × LOCAL_WORLD_SIZE + LOCAL_RANK = " + r
                        + " is not below WORLD_SIZE " + world);
            }
            rank = (int) r;
        } else if (world == 1) {
            rank = 0;
        } else {
            throw new InvalidInputException("environment variable RANK is missing (WORLD_SIZE is " + world + "): set RANK, or NODE_RANK with LOCAL_RANK and LOCAL_WORLD_SIZE");
        }
        if (localWorld == 0 && !present(env, "LOCAL_RANK")) localWorld = 1;   // Kubeflow: one process per pod
        return withMaster(env, world, rank, localRank, localWorld, "torchrun");
    }

    private static DistributedEnv slurm(Map<String, String> env) {
        int world = integer(env, "SLURM_NTASKS", 1, Integer.MAX_VALUE);
        int rank = present(env, "SLURM_PROCID") ? integer(env, "SLURM_PROCID", 0, world - 1) : missing("SLURM_PROCID", world);
        String perNode = env.get("SLURM_NTASKS_PER_NODE");
        int localWorld = perNode != null && perNode.strip().matches("\\d+") ? integer(env, "SLURM_NTASKS_PER_NODE", 1, world) : 0;
        int localRank = present(env, "SLURM_LOCALID") ? integer(env, "SLURM_LOCALID", 0, (localWorld > 0 ? localWorld : world) - 1)
                : missing("SLURM_LOCALID", world);
        return withMaster(env, world, rank, localRank, localWorld, "slurm");
    }

    private static int missing(String var, int world) {
        throw new InvalidInputException("environment variable " + var + " is missing (SLURM_NTASKS is " + world + "): run the job's steps with srun");
    }

    private static DistributedEnv withMaster(Map<String, String> env, int world, int rank, int localRank, int localWorld, String launcher) {
        if (world == 1) return new DistributedEnv(1, 0, localRank, Math.max(localWorld, 1), null, 0, launcher);
        String addr = env.get("MASTER_ADDR");
        if (addr == null || addr.isBlank()) {
            throw new InvalidInputException("environment variable MASTER_ADDR is missing (WORLD_SIZE " + world + "): set it to the host of rank 0"
                    + (launcher.equals("slurm") ? " (in the batch script: export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1))" : ""));
        }
        int port = present(env, "MASTER_PORT") ? integer(env, "MASTER_PORT", 1, 65535) : DEFAULT_PORT;
        return new DistributedEnv(world, rank, localRank, localWorld, addr.strip(), port, launcher);
    }

    private static boolean present(Map<String, String> env, String var) {
        String v = env.get(var);
        return v != null && !v.isBlank();
    }

    private static int integer(Map<String, String> env, String var, int min, int max) {
        String v = env.get(var).strip();
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new InvalidInputException("environment variable " + var + " must be an integer, got '" + v + "'");
        }
        if (n < min || n > max) {
            throw new InvalidInputException("environment variable " + var + " must be " + (max == Integer.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]")
                    + ", got " + v);
        }
        return (int) n;
    }
}
