package org.cce4j.trainer.distributed;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.dist.CommunicatorException;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.train.StopSignals;
import org.cce4j.trainer.train.TinyRunAccess;
import org.cce4j.trainer.train.Trainer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data-parallel training on the CPU, its ranks as threads with an in-process communicator, against the
 * single-rank run of the same global batch: 13 rows in micro-batches of 2, six per step, so an epoch is
 * a full step and a step of one micro-batch (which leaves ranks 1 and 2 with none), two epochs, a
 * checkpoint every 2 steps, an evaluation every 3. Every step's loss, gradient norm and learning rate
 * and the final weights equal the single run's within 1e-5 (relative): the one difference is the order
 * in which f32 gradients are added — rank by rank (g0 + g2 + g4) + (g1 + g3 + g5) instead of g0 + g1 + …
 * — and the f64 loss sums likewise. ZeRO-1 equals plain data parallelism (the same sums, reduce-scattered:
 * the same weights and state to the bit, the norm's f64 sum in another order); a checkpoint written by 2
 * ranks resumes on 1 and on 3; a rank that fails stops the others with an error, not a hang.
 */
class DataParallelTrainingTest {
    static final double TOL = 1e-5;
    static final List<String> COMPARED = List.of("loss", "grad_norm", "lr", "tokens", "eval_loss", "eval_accuracy", "eval_tokens");

    @TempDir
    Path dir;
    Path cfg;

    @BeforeEach
    void setUp() throws IOException {
        cfg = TinyRunAccess.setUp(dir, "");
        TinyRunAccess.rows(dir, "rows.jsonl", 13, 5);
        String yaml = Files.readString(cfg).replace("grad_accum: 2", "grad_accum: 6");
        Files.writeString(cfg, yaml);
    }

    Trainer.Options quiet() {
        return Trainer.Options.defaults().withErr(new PrintStream(new ByteArrayOutputStream(), true), false);
    }

    TrainConfig config(String output, String... sets) {
        List<String> all = new ArrayList<>(List.of("output=" + output));
        all.addAll(List.of(sets));
        return TrainConfig.read(cfg, all);
    }

    /** One run on {@code n} ranks (threads); every rank's result. */
    List<Trainer.Result> runOn(int n, TrainConfig c, boolean resume, IntFunction<StopSignals> signals) throws InterruptedException {
        return Ranks.values(Ranks.run(n, comm -> Trainer.run(c, quiet().withResume(resume).withSignals(signals.apply(comm.rank())).withCommunicator(comm))));
    }

    List<Trainer.Result> runOn(int n, TrainConfig c) throws InterruptedException {
        return runOn(n, c, false, r -> StopSignals.none());
    }

    @ParameterizedTest
    @CsvSource({"full, 2, 25", "full, 3, 25", "full, 3, 0.004", "lora, 2, 25", "lora, 3, 0.0002"})
    void severalRanksTrainAsOne(String kind, int ranks, double bucketMb) throws Exception {
        if (kind.equals("lora")) {
            Files.writeString(cfg, Files.readString(cfg) + "lora:\n  r: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: [q_proj, v_proj, down_proj]\n");
        }
        Trainer.Result one = Trainer.run(config("one"), quiet());
        assertEquals(4, one.steps());
        // 25 MB: one bucket, reduced after the backward; 4 KB (0.2 KB of LoRA's): several, reduced during it
        List<Trainer.Result> many = runOn(ranks, config("many", "train.bucket_mb=" + bucketMb));
        for (Trainer.Result r : many) assertEquals(4, r.steps());
        assertSameMetrics(dir.resolve("one"), dir.resolve("many"), TOL);
        String weights = kind.equals("lora") ? "adapter_model.safetensors" : "model.safetensors";
        assertSameTensors(dir.resolve("one/final").resolve(weights), dir.resolve("many/final").resolve(weights), TOL);
        assertTrue(Files.isRegularFile(dir.resolve("many/checkpoints/step-2").resolve(RunFolder.STATE)));
    }

    @ParameterizedTest
    @CsvSource({"full, 3, 25", "full, 2, 0.004", "lora, 3, 0.0002"})
    void zeroOneEqualsPlainDataParallelism(String kind, int ranks, double bucketMb) throws Exception {
        if (kind.equals("lora")) {
            Files.writeString(cfg, Files.readString(cfg) + "lora:\n  r: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: [q_proj, v_proj, down_proj]\n");
        }
        runOn(ranks, config("ddp", "train.bucket_mb=" + bucketMb));
        runOn(ranks, config("zero", "train.zero=1", "train.bucket_mb=" + bucketMb));
        assertSameMetrics(dir.resolve("ddp"), dir.resolve("zero"), 1e-12);
        String weights = kind.equals("lora") ? "adapter_model.safetensors" : "model.safetensors";
        assertSameTensors(dir.resolve("ddp/final").resolve(weights), dir.resolve("zero/final").resolve(weights), 0);
        // the gathered state is the single-GPU layout, with the same numbers
        assertSameTensors(dir.resolve("ddp/checkpoints/step-2").resolve(RunFolder.STATE), dir.resolve("zero/checkpoints/step-2").resolve(RunFolder.STATE), 0);
    }

    @ParameterizedTest
    @CsvSource({"1, 0", "3, 0", "1, 1", "3, 1"})
    void aCheckpointOfTwoRanksResumesOnOtherCounts(int resumeRanks, int zero) throws Exception {
        Trainer.Result straight = Trainer.run(config("straight"), quiet());
        assertEquals(4, straight.steps());
        // rank 1 alone is asked to stop after step 3: both stop there, after writing a checkpoint
        List<Trainer.Result> stopped = runOn(2, config("stopped", "train.zero=" + zero), false,
                r -> r == 1 ? TinyRunAccess.stopAfterPolls(3) : StopSignals.none());
        for (Trainer.Result r : stopped) {
            assertEquals("TERM", r.stoppedBy());
            assertEquals(3, r.steps());
        }
        TrainConfig resumed = TrainConfig.read(dir.resolve("stopped").resolve(RunFolder.CONFIG), List.of());
        if (resumeRanks == 1) Trainer.run(resumed, quiet().withResume(true));
        else runOn(resumeRanks, resumed, true, r -> StopSignals.none());
        assertSameMetrics(dir.resolve("straight"), dir.resolve("stopped"), TOL);
        assertSameTensors(dir.resolve("straight/final/model.safetensors"), dir.resolve("stopped/final/model.safetensors"), TOL);
    }

    @Test
    void onlyRankZeroNeedsTheRunFolderAndEveryRankMustSeeTheCheckpoint() throws Exception {
        // a fresh run where rank 1's folder is elsewhere (a node without the shared filesystem): rank 0 writes everything
        List<Trainer.Result> fresh = Ranks.values(Ranks.run(2, comm -> Trainer.run(config(comm.rank() == 0 ? "shared" : "node-b"),
                quiet().withCommunicator(comm))));
        assertEquals(4, fresh.get(1).steps());
        assertTrue(Files.isDirectory(dir.resolve("shared/final")));
        assertTrue(!Files.exists(dir.resolve("node-b")), "rank 1 wrote nothing");
        // resuming, rank 1 cannot see rank 0's checkpoint: both stop with one line, before any step
        runOn(2, config("stopped"), false, r -> r == 0 ? TinyRunAccess.stopAfterPolls(2) : StopSignals.none());
        TrainConfig resumed = TrainConfig.read(dir.resolve("stopped").resolve(RunFolder.CONFIG), List.of());
        TrainConfig elsewhere = TrainConfig.read(dir.resolve("stopped").resolve(RunFolder.CONFIG), List.of("output=" + dir.resolve("node-c")));
        List<Ranks.Outcome<Trainer.Result>> out = Ranks.run(2, comm -> Trainer.run(comm.rank() == 0 ? resumed : elsewhere,
                quiet().withResume(true).withCommunicator(comm)));
        assertEquals("the ranks start from different steps (this rank, 0, after step 2): every rank must read the run folder "
                + dir.resolve("stopped") + " (a filesystem every node mounts, or a copy on each)", out.get(0).error().getMessage());
        assertTrue(out.get(1).error().getMessage().startsWith("the ranks start from different steps (this rank, 1, after step 0)"), out.get(1).error().getMessage());
    }

    @Test
    void aRankThatFailsStopsTheOthers() throws Exception {
        TrainConfig c = config("failing");
        List<Ranks.Outcome<Trainer.Result>> out = Ranks.run(3, comm -> {
            // rank 1 throws before its 6th all-reduce (a bug, an out-of-memory): the others wait in theirs
            Communicator used = comm.rank() == 1 ? new AllReduceWatch(comm, k -> {
                if (k == 6) throw new IllegalStateException("rank 1 failed on purpose before its all-reduce 6");
            }) : comm;
            return Trainer.run(c, quiet().withCommunicator(used));
        });
        assertEquals("rank 1 failed on purpose before its all-reduce 6", out.get(1).error().getMessage());
        for (int r : new int[] {0, 2}) {
            Throwable e = out.get(r).error();
            assertInstanceOf(CommunicatorException.class, e, "rank " + r + ": " + e);
        }
    }

    @Test
    void gradAccumMustBeAMultipleOfTheRanks() throws Exception {
        List<Ranks.Outcome<Trainer.Result>> out = Ranks.run(4, comm -> Trainer.run(config("four"), quiet().withCommunicator(comm)));
        assertEquals("train.grad_accum 6 is not a multiple of the 4 ranks: each rank takes every 4-th micro-batch of a step (set train.grad_accum to 4 or 8)",
                out.get(0).error().getMessage());
        for (Ranks.Outcome<Trainer.Result> o : out) assertTrue(o.error() != null);
    }

    static void assertSameMetrics(Path a, Path b, double tol) throws IOException {
        List<MetricsRecord> ra = MetricsLog.read(a.resolve(RunFolder.METRICS)), rb = MetricsLog.read(b.resolve(RunFolder.METRICS));
        assertEquals(ra.size(), rb.size(), "records");
        assertTrue(ra.stream().anyMatch(MetricsRecord::isEval), "evaluations were logged");
        double worst = 0;
        for (int i = 0; i < ra.size(); i++) {
            assertEquals(ra.get(i).step(), rb.get(i).step());
            for (String k : COMPARED) {
                if (!ra.get(i).has(k)) continue;
                double x = ra.get(i).number(k), y = rb.get(i).number(k);
                double rel = Math.abs(x - y) / Math.max(1e-3, Math.abs(x));
                worst = Math.max(worst, rel);
                assertTrue(rel <= tol, k + " at step " + ra.get(i).step() + ": " + x + " vs " + y);
            }
        }
        System.out.printf("%s vs %s: worst relative difference of the metrics %.2g%n", a.getFileName(), b.getFileName(), worst);
    }

    static void assertSameTensors(Path a, Path b, double tol) throws IOException {
        double worst = 0;
        try (SafetensorsFile x = SafetensorsFile.open(a); SafetensorsFile y = SafetensorsFile.open(b)) {
            assertEquals(new java.util.TreeSet<>(x.names()), new java.util.TreeSet<>(y.names()));
            for (String n : x.names()) {
                float[] u = x.tensor(n).toFloatArray(), v = y.tensor(n).toFloatArray();
                assertEquals(u.length, v.length, n);
                double max = 0, diff = 0;
                for (int i = 0; i < u.length; i++) {
                    max = Math.max(max, Math.abs(u[i]));
                    diff = Math.max(diff, Math.abs(u[i] - v[i]));
                }
                assertTrue(diff <= tol * Math.max(max, 1e-6), n + ": largest difference " + diff + " of largest entry " + max);
                worst = Math.max(worst, diff / Math.max(max, 1e-6));
            }
            System.out.printf("%s: worst tensor difference %.2g of its largest entry%n", b.getParent().getFileName() + "/" + b.getFileName(), worst);
        }
    }
}
