package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each launcher's variables, as it sets them, read into the same DistributedEnv; bad values are one line naming the variable. */
class DistributedEnvTest {
    @Test
    void noVariablesIsOneProcess() {
        DistributedEnv e = DistributedEnv.parse(Map.of("PATH", "/bin"));
        assertEquals(DistributedEnv.single(), e);
        assertFalse(e.distributed());
    }

    @Test
    void torchrunOnTheSecondNode() {
        // torchrun --nnodes 2 --nproc-per-node 4, second node, its third process
        DistributedEnv e = DistributedEnv.parse(Map.of("WORLD_SIZE", "8", "RANK", "6", "LOCAL_RANK", "2", "LOCAL_WORLD_SIZE", "4",
                "GROUP_RANK", "1", "MASTER_ADDR", "node-a", "MASTER_PORT", "29400"));
        assertEquals(new DistributedEnv(8, 6, 2, 4, "node-a", 29400, "torchrun"), e);
        assertTrue(e.distributed());
    }

    @Test
    void nodeRankAndLocalRankWithoutRank() {
        DistributedEnv e = DistributedEnv.parse(Map.of("WORLD_SIZE", "8", "NODE_RANK", "1", "LOCAL_RANK", "3", "LOCAL_WORLD_SIZE", "4",
                "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234"));
        assertEquals(7, e.rank());
        assertEquals(3, e.localRank());
    }

    @Test
    void kubeflowPyTorchJobIsOneProcessPerPod() {
        DistributedEnv e = DistributedEnv.parse(Map.of("WORLD_SIZE", "3", "RANK", "2", "MASTER_ADDR", "job-master-0", "MASTER_PORT", "23456"));
        assertEquals(new DistributedEnv(3, 2, 0, 1, "job-master-0", 23456, "torchrun"), e);
    }

    @Test
    void slurmTasks() {
        DistributedEnv e = DistributedEnv.parse(Map.of("SLURM_NTASKS", "16", "SLURM_PROCID", "9", "SLURM_LOCALID", "1",
                "SLURM_NTASKS_PER_NODE", "8", "SLURM_STEP_ID", "0", "MASTER_ADDR", "gpu-001"));
        assertEquals(new DistributedEnv(16, 9, 1, 8, "gpu-001", DistributedEnv.DEFAULT_PORT, "slurm"), e);
        DistributedEnv uneven = DistributedEnv.parse(Map.of("SLURM_NTASKS", "3", "SLURM_PROCID", "2", "SLURM_LOCALID", "0",
                "SLURM_NTASKS_PER_NODE", "2(x1),1", "SLURM_STEPID", "1", "MASTER_ADDR", "gpu-001", "MASTER_PORT", "5000"));
        assertEquals(0, uneven.localWorldSize(), "not given as one number");
        assertEquals(2, uneven.rank());
    }

    @Test
    void aBatchScriptOutsideSrunIsOneProcess() {
        // sbatch --ntasks 8: the script itself sees the allocation's variables, but no step: it is not one of 8 tasks
        assertEquals(DistributedEnv.single(), DistributedEnv.parse(Map.of("SLURM_NTASKS", "8", "SLURM_PROCID", "0", "SLURM_LOCALID", "0",
                "SLURM_JOB_ID", "1234")));
    }

    @Test
    void torchrunsVariablesWinOverSlurms() {
        // torchrun started inside an srun step: its per-process variables are the ones that count
        DistributedEnv e = DistributedEnv.parse(Map.of("SLURM_NTASKS", "2", "SLURM_PROCID", "1", "SLURM_LOCALID", "0", "SLURM_STEP_ID", "0",
                "WORLD_SIZE", "8", "RANK", "5", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "4", "MASTER_ADDR", "a", "MASTER_PORT", "1"));
        assertEquals(5, e.rank());
        assertEquals("torchrun", e.launcher());
    }

    @Test
    void oneRankNeedsNoRendezvous() {
        DistributedEnv e = DistributedEnv.parse(Map.of("WORLD_SIZE", "1"));
        assertEquals(1, e.worldSize());
        assertFalse(e.distributed());
        assertEquals(1, DistributedEnv.parse(Map.of("SLURM_NTASKS", "1", "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "SLURM_STEP_ID", "0")).worldSize());
    }

    @Test
    void badValuesNameTheVariable() {
        assertError("environment variable WORLD_SIZE must be an integer, got 'two'", Map.of("WORLD_SIZE", "two"));
        assertError("environment variable WORLD_SIZE must be >= 1, got 0", Map.of("WORLD_SIZE", "0"));
        assertError("environment variable RANK must be in [0, 3], got 4", Map.of("WORLD_SIZE", "4", "RANK", "4", "MASTER_ADDR", "a"));
        assertError("environment variable RANK must be in [0, 3], got -1", Map.of("WORLD_SIZE", "4", "RANK", "-1", "MASTER_ADDR", "a"));
        assertError("environment variable LOCAL_RANK must be in [0, 1], got 2",
                Map.of("WORLD_SIZE", "4", "RANK", "1", "LOCAL_RANK", "2", "LOCAL_WORLD_SIZE", "2", "MASTER_ADDR", "a"));
        assertError("environment variable MASTER_PORT must be in [1, 65535], got 70000",
                Map.of("WORLD_SIZE", "2", "RANK", "1", "MASTER_ADDR", "a", "MASTER_PORT", "70000"));
        assertError("environment variable SLURM_PROCID must be an integer, got 'x'", Map.of("SLURM_NTASKS", "2", "SLURM_PROCID", "x", "SLURM_STEP_ID", "0"));
        assertError("environment variable NODE_RANK 2: NODE_RANK × LOCAL_WORLD_SIZE + LOCAL_RANK = 8 is not below WORLD_SIZE 8",
                Map.of("WORLD_SIZE", "8", "NODE_RANK", "2", "LOCAL_RANK", "0", "LOCAL_WORLD_SIZE", "4", "MASTER_ADDR", "a"));
    }

    @Test
    void missingValuesNameTheVariable() {
        assertStarts("environment variable RANK is missing (WORLD_SIZE is 4)", Map.of("WORLD_SIZE", "4", "MASTER_ADDR", "a"));
        assertStarts("environment variable MASTER_ADDR is missing (WORLD_SIZE 2)", Map.of("WORLD_SIZE", "2", "RANK", "0"));
        assertStarts("environment variable MASTER_ADDR is missing (WORLD_SIZE 2): set it to the host of rank 0 (in the batch script: export MASTER_ADDR=",
                Map.of("SLURM_NTASKS", "2", "SLURM_PROCID", "0", "SLURM_LOCALID", "0", "SLURM_STEP_ID", "0"));
        assertStarts("environment variable SLURM_LOCALID is missing", Map.of("SLURM_NTASKS", "2", "SLURM_PROCID", "0", "SLURM_STEP_ID", "0", "MASTER_ADDR", "a"));
        assertStarts("environment variable RANK is set but WORLD_SIZE is not", Map.of("RANK", "1"));
        assertStarts("environment variable NODE_RANK is set without RANK or LOCAL_WORLD_SIZE",
                Map.of("WORLD_SIZE", "4", "NODE_RANK", "1", "LOCAL_RANK", "0", "MASTER_ADDR", "a"));
    }

    private static void assertError(String message, Map<String, String> env) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> DistributedEnv.parse(env));
        assertEquals(message, e.getMessage());
    }

    private static void assertStarts(String prefix, Map<String, String> env) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> DistributedEnv.parse(env));
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
