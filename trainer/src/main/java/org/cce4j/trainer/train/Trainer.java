package org.cce4j.trainer.train;

import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.checkpoints.state.TrainingState;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.OutOfDeviceMemoryException;
import org.cce4j.core.device.Devices;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.checkpoint.CheckpointState;
import org.cce4j.trainer.checkpoint.ModelFiles;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.ConfigReader;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.data.Batches;
import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.StepBatches;
import org.cce4j.trainer.distributed.Communicators;
import org.cce4j.trainer.distributed.DataParallel;
import org.cce4j.trainer.distributed.DistributedEnv;
import org.cce4j.trainer.metrics.LossPlot;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.metrics.Progress;
import org.cce4j.transformer.backend.DropoutMask;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.TransformerModel;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A training run, as a PyTorch loop runs one (docs/training.md has the exact semantics): for each
 * optimizer step, the step's micro-batches forward and backward with the loss summed over their targets
 * and the gradient scaled by 1 / (the step's target count); the global gradient norm; a stop on a
 * non-finite loss or norm before anything is updated; AdamW with clipping; the metrics line; an
 * evaluation and a checkpoint when due. The run folder is {@link RunFolder}'s; resuming continues from
 * the newest whole checkpoint and writes the same metrics, step for step, as a run never stopped.
 * <pre>
 *   TrainConfig c = TrainConfig.read(Path.of("run.yaml"), List.of());
 *   Trainer.Result r = Trainer.run(c, Trainer.Options.defaults());
 * </pre>
 */
public final class Trainer {
    /**
     * @param resume    continue the run in config.output() from its newest checkpoint
     * @param overwrite start over in a folder that holds a run
     * @param verbose   name the first non-finite tensor when the run stops on one
     * @param err       progress and messages
     * @param terminal  a progress bar (true), plain lines (false), or null: a bar when stderr is a terminal
     * @param signals   stop requests (the command line installs SIGINT/SIGTERM handlers)
     * @param communicator this process's rank of a data-parallel job, or null (see {@link #withCommunicator})
     */
    public record Options(boolean resume, boolean overwrite, boolean verbose, PrintStream err, Boolean terminal, StopSignals signals,
                          Communicator communicator) {
        public static Options defaults() {
            return new Options(false, false, false, System.err, null, StopSignals.none(), null);
        }

        public Options withResume(boolean r) {
            return new Options(r, overwrite, verbose, err, terminal, signals, communicator);
        }

        public Options withOverwrite(boolean o) {
            return new Options(resume, o, verbose, err, terminal, signals, communicator);
        }

        public Options withErr(PrintStream e, Boolean term) {
            return new Options(resume, overwrite, verbose, e, term, signals, communicator);
        }

        public Options withSignals(StopSignals s) {
            return new Options(resume, overwrite, verbose, err, terminal, s, communicator);
        }

        public Options withVerbose(boolean v) {
            return new Options(resume, overwrite, v, err, terminal, signals, communicator);
        }

        /**
         * This process's rank of a data-parallel job (the caller keeps and closes it); null: the job the
         * environment describes (DistributedEnv), a single process when it describes none.
         */
        public Options withCommunicator(Communicator c) {
            return new Options(resume, overwrite, verbose, err, terminal, signals, c);
        }
    }

    /**
     * How a run ended.
     *
     * @param stoppedBy the signal that stopped it ("INT", "TERM"), or null when it ran to the end
     */
    public record Result(Path runFolder, long steps, long totalSteps, double lastLoss, Double lastEvalLoss, String stoppedBy) {}

    private final TrainConfig config;
    private final Options options;
    private final RunFolder run;
    private final TrainSession s;
    private final CceOptions lossOptions;
    /** The other ranks, or null when this process trains alone (the single-GPU path, unchanged). */
    private final DataParallel dp;
    /** Whether this rank writes the run folder, the metrics and the messages: rank 0, or the only one. */
    private final boolean root;

    private Trainer(TrainConfig config, Options options, RunFolder run, TrainSession session, DataParallel dp) {
        this.config = config;
        this.options = options;
        this.run = run;
        this.s = session;
        this.lossOptions = lossOptions(config, session.model);
        this.dp = dp;
        this.root = dp == null || dp.rank() == 0;
        if (dp != null && config.train().optimizerInBackward()) {
            throw new InvalidInputException("train.optimizer_in_backward runs on one rank (each layer is updated before its gradients could be summed over the ranks); leave it off with "
                    + dp.size() + " ranks");
        }
    }

    /** The loss options of a step: the model's (shift, softcap), summed, with the config's loss keys. */
    static CceOptions lossOptions(TrainConfig config, TransformerModel model) {
        TrainConfig.Loss l = config.loss();
        return model.lossOptions().withReduction(Reduction.SUM).withZLossWeight((float) l.zLoss())
                .withLabelSmoothing((float) l.labelSmoothing()).withFilterEps((float) l.filterEps())
                .withFilterEGrad(l.filterEGrad()).withFilterCGrad(l.filterCGrad());
    }

    /**
     * Runs (or, with {@code options.resume()}, continues) the run {@code config} describes: alone, or as
     * one rank of a data-parallel job (the options' communicator, or the job the environment describes).
     */
    public static Result run(TrainConfig config, Options options) throws IOException {
        Communicator given = options.communicator();
        DistributedEnv env = given == null ? DistributedEnv.fromSystem() : null;
        if (given == null && !env.distributed()) return runAs(config, options, null, config.device());
        String device = given != null ? config.device()
                : DataParallel.rankDevice(config.device(), env.localRank(), System.getenv("CUDA_VISIBLE_DEVICES"),
                        () -> !Devices.choose(null).device().isCpu());
        Communicator comm = given;
        if (comm == null) {
            org.cce4j.core.tensor.Device d = org.cce4j.core.tensor.Device.parse(device);
            Devices.requireUsable(d);   // one line naming the device, before the rendezvous
            comm = Communicators.connect(env, d);
        }
        try {
            if (comm.size() == 1) return runAs(config, options, null, device);
            return runAs(config, options, new DataParallel(comm, config.train().zero() == 1, (long) (config.train().bucketMb() * (1 << 20))), device);
        } finally {
            if (given == null) comm.close();
        }
    }

    /**
     * The run on this rank. Rank 0 prepares the run folder and builds its session first (tokenizing
     * into the cache); the other ranks wait for it, then open the same folder and find the cache filled,
     * and print nothing but their errors.
     */
    private static Result runAs(TrainConfig config, Options options, DataParallel dp, String device) throws IOException {
        if (dp != null && dp.rank() != 0) {
            dp.barrier();
            Options quiet = options.withErr(new PrintStream(java.io.OutputStream.nullOutputStream()), false);
            RunFolder run = RunFolder.at(config.output());
            Long resumeStep = options.resume() ? run.newestCheckpoint().orElse(null) : null;
            Path resumeFrom = resumeStep == null ? null : run.checkpoint(resumeStep);
            try (TrainSession session = new TrainSession(config, resumeFrom, quiet.err(), false, device, dp)) {
                return new Trainer(config, quiet, run, session, dp).loop(resumeStep);
            }
        }
        RunFolder run = RunFolder.prepare(config.output(), options.resume(), options.overwrite());
        Long resumeStep = null;
        Path resumeFrom = null;
        if (options.resume()) {
            if (java.nio.file.Files.exists(run.finalModel())) {
                throw new InvalidInputException("--resume " + run.root() + ": the run is finished (" + RunFolder.FINAL + "/ exists); nothing to continue");
            }
            run.removeLeftovers();
            resumeStep = run.newestCheckpoint().orElse(null);
            if (resumeStep != null) resumeFrom = run.checkpoint(resumeStep);
        }
        AtomicFiles.writeString(run.config(), ConfigReader.toYaml(config.resolved()));
        try (TrainSession session = new TrainSession(config, resumeFrom, options.err(), options.terminal(), device, dp)) {
            if (dp != null) dp.barrier();   // the folder, its config.yaml and the token cache are ready for the other ranks
            return new Trainer(config, options, run, session, dp).loop(resumeStep);
        }
    }

    private Result loop(Long resumeStep) throws IOException {
        PrintStream err = options.err();
        long start = 0;
        if (resumeStep != null) {
            TrainingState st = CheckpointState.restore(run.checkpoint(resumeStep).resolve(RunFolder.STATE), s.optimizer, s.backend);
            if (dp != null && dp.zero()) dp.restoreSharded(run.checkpoint(resumeStep).resolve(RunFolder.STATE), st.step());
            start = st.step();
            long expected = s.plan.nextStep(st.data()) - 1;
            if (expected != start) {
                throw new InvalidInputException(run.checkpoint(resumeStep) + ": its data position " + st.data()
                        + " is not where step " + start + " ends with this config (micro_batch_size, grad_accum or the data changed)");
            }
        }
        long total = s.plan.totalSteps();
        if (dp != null) {
            double[] r = dp.sum(start, start * start);   // every rank read the same checkpoint (or none): Σ start = N·start and Σ start² = N·start²
            if (r[0] != (double) start * dp.size() || r[1] != (double) start * start * dp.size()) {
                throw new InvalidInputException("the ranks start from different steps (this rank, " + dp.rank() + ", after step " + start
                        + "): every rank must read the run folder " + run.root() + " (a filesystem every node mounts, or a copy on each)");
            }
        }
        if (dp != null) dp.checkWeightsAgree(List.copyOf(s.model.parameters().all()), "before step " + (start + 1));
        err.println("train: " + String.join("; ", s.describe()));
        if (dp != null) {
            err.println("train: data parallel over " + dp.size() + " ranks, micro-batch i of each step on rank i mod " + dp.size()
                    + (dp.zero() ? "; ZeRO-1: gradients reduce-scattered, optimizer state sharded (this rank's "
                    + String.format(Locale.ROOT, "%,.1f MB", s.optimizerStateBytes() / 1e6) + "), weights all-gathered" : ""));
        }
        err.println("train: " + s.train.report().summary() + "; " + total + " optimizer steps"
                + (start > 0 ? ", resuming after step " + start : ""));
        if (s.validation != null) err.println("train: validation " + s.validation.report().summary());
        if (s.split != null) err.println("train: validation " + s.split.summary(config.data().validationFraction()));
        err.println(String.format(Locale.ROOT, "train: %s, padding %.1f%% of the tokens in epoch 1",
                config.data().packing() ? "rows packed into sequences of " + config.data().seqLen() : "padded micro-batches",
                100 * s.plan.padding(0).fraction()));

        Result result;
        try (MetricsLog log = !root ? null : start > 0 || resumeStep != null ? MetricsLog.resume(run.metrics(), start) : MetricsLog.create(run.metrics());
             Progress progress = options.terminal() == null ? Progress.onStderr(total, start, config.train().logEvery())
                     : new Progress(err, options.terminal(), total, start, config.train().logEvery(), System::nanoTime)) {
            double lastLoss = Double.NaN;
            Double lastEval = null;
            long step = start;
            boolean memoryReported = false;
            while (step < total) {
                step++;
                StepOutcome o;
                try {
                    o = trainStep(step);
                } catch (OutOfDeviceMemoryException e) {
                    throw new InvalidInputException("step " + step + ": " + e.getMessage() + "; lower train.micro_batch_size (now "
                            + config.train().microBatchSize() + ", raise train.grad_accum to keep the batch) or data.seq_len, or set train.recompute: true", e);
                }
                lastLoss = o.loss;
                MetricsRecord rec = MetricsRecord.builder(step).put("loss", o.loss).put("grad_norm", o.gradNorm).put("lr", o.lr)
                        .put("tokens", o.tokens).put("tokens_per_s", o.tokensPerSecond).put("mem_mb", o.peakBytes / 1e6).build();
                if (root) log.append(rec);
                progress.update(rec);
                if (!memoryReported) {
                    progress.message(memoryLine(o.peakBytes));
                    memoryReported = true;
                }
                boolean last = step == total;
                if (s.validationRows != null && (last || config.eval().everySteps() > 0 && step % config.eval().everySteps() == 0)) {
                    Evaluation e = evaluate();
                    lastEval = e.loss;
                    if (root) log.append(MetricsRecord.builder(step).put("eval_loss", e.loss).put("eval_ppl", Math.exp(e.loss))
                            .put("eval_accuracy", e.accuracy).put("eval_tokens", e.tokens).build());
                    progress.message(String.format(Locale.ROOT, "step %d: eval_loss %.4f, eval_ppl %.3f, eval_accuracy %.4f over %,d tokens",
                            step, e.loss, Math.exp(e.loss), e.accuracy, e.tokens));
                }
                String stop = dp == null ? options.signals().requested() : dp.agreeOnStop(options.signals().requested());
                boolean due = config.save().everySteps() > 0 && step % config.save().everySteps() == 0;
                if (!last && (due || stop != null)) {
                    checkpoint(step, log);
                    plot(progress);
                    progress.message("step " + step + ": checkpoint " + run.root().relativize(run.checkpoint(step)));
                }
                if (stop != null && !last) {
                    progress.message("stopped by SIG" + stop + " after step " + step + "; train --resume " + run.root() + " continues");
                    return new Result(run.root(), step, total, lastLoss, lastEval, stop);
                }
            }
            if (dp != null) dp.checkWeightsAgree(List.copyOf(s.model.parameters().all()), "the end of the run");
            if (root) {
                RunFolder.writeFolder(run.finalModel(), this::writeModel);
                log.sync();
                plot(progress);
                progress.message("done: " + total + " steps; final model in " + run.finalModel());
            }
            if (dp != null) dp.barrier();   // the final model is written before any rank reports success
            result = new Result(run.root(), total, total, lastLoss, lastEval, null);
        }
        return result;
    }

    private record StepOutcome(double loss, double gradNorm, double lr, long tokens, double tokensPerSecond, long peakBytes) {}

    /** One optimizer step: every micro-batch forward and backward, the norm, the stop check, the update. */
    private StepOutcome trainStep(long step) {
        long t0 = System.nanoTime();
        s.backend.resetPeak();
        StepBatches batches = s.plan.batches(step, s.padTokenId);
        float upstream = (float) (1.0 / batches.targets());   // the whole step's count, on every rank
        List<MicroBatch> all = batches.microBatches();
        int[] mine = dp == null ? java.util.stream.IntStream.range(0, all.size()).toArray() : dp.microBatchesOf(all.size());
        if (config.train().optimizerInBackward()) return inBackwardStep(step, batches, upstream, t0);
        double lossSum = 0;
        for (int j = 0; j < mine.length; j++) {
            int micro = mine[j];
            long seed = DropoutMask.derive(config.train().seed(), step, micro);
            TransformerModel.GradientsReady ready = dp != null && j == mine.length - 1 ? dp.gradientsReady() : null;
            try (TransformerModel.Pass pass = s.model.forward(all.get(micro).batch(), seed)) {
                lossSum += s.model.loss(pass, config.loss().impl(), lossOptions, upstream, true, ready);
            }
        }
        if (dp != null) {
            dp.reduceGradients();
            lossSum = dp.sum(lossSum)[0];
        }
        double loss = lossSum / batches.targets();
        double lr = s.schedule.rateOfStep(step);
        double gradNorm;
        try (Tensor sq = dp == null ? s.optimizer.gradSumOfSquares() : dp.gradSumOfSquares(s.optimizer)) {
            try (Tensor host = s.backend.download(sq)) {
                gradNorm = Math.sqrt(host.getDouble(0));
            }
            if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
                throw new TrainingHalted(step, nonFinite(step, loss, gradNorm) + "; stopped before updating the weights" + lastCheckpointNote() + nonFiniteDetail());
            }
            if (dp == null) s.optimizer.step(lr, sq);
            else dp.step(s.optimizer, lr, sq);
        }
        return finished(loss, gradNorm, lr, batches, t0);
    }

    /** The step's outcome, its gradients freed: the measures of a step that began at {@code t0}. */
    private StepOutcome finished(double loss, double gradNorm, double lr, StepBatches batches, long t0) {
        s.model.parameters().zeroGrads();
        long peak = s.backend.peakBytes();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new StepOutcome(loss, gradNorm, lr, batches.targets(), batches.targets() / Math.max(seconds, 1e-9), peak);
    }

    private static String nonFinite(long step, double loss, double gradNorm) {
        return "step " + step + ": " + (!Double.isFinite(loss) ? "the loss is " + loss : "the gradient norm is " + gradNorm);
    }

    /**
     * The step with train.optimizer_in_backward (one micro-batch, no clipping, one rank: the config and the
     * session refuse the rest): each group of parameters is updated, and its gradients freed, as soon as the
     * backward has finished them, so at most one layer's f32 gradients exist at a time. The norm is summed on
     * the way for the metrics; a non-finite loss or norm still stops the run, but after the update.
     */
    private StepOutcome inBackwardStep(long step, StepBatches batches, float upstream, long t0) {
        double lr = s.schedule.rateOfStep(step);
        double lossSum, gradNorm;
        try (Tensor sq = s.backend.zeros(org.cce4j.core.tensor.DType.F64, 1)) {
            s.optimizer.beginStep();
            MicroBatch mb = batches.microBatches().get(0);
            long seed = DropoutMask.derive(config.train().seed(), step, 0);
            try (TransformerModel.Pass pass = s.model.forward(mb.batch(), seed)) {
                lossSum = s.model.loss(pass, config.loss().impl(), lossOptions, upstream, true, group -> s.optimizer.stepParameters(group, lr, sq));
            }
            try (Tensor host = s.backend.download(sq)) {
                gradNorm = Math.sqrt(host.getDouble(0));
            }
        }
        double loss = lossSum / batches.targets();
        if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
            throw new TrainingHalted(step, nonFinite(step, loss, gradNorm) + "; with train.optimizer_in_backward the weights were updated during the backward"
                    + lastCheckpointNote());
        }
        return finished(loss, gradNorm, lr, batches, t0);
    }

    private String lastCheckpointNote() {
        return run.newestCheckpoint().map(n -> " (the last checkpoint, " + run.root().relativize(run.checkpoint(n)) + ", is intact)")
                .orElse(" (no checkpoint was written yet)");
    }

    /** With --verbose: the first parameter whose gradient (or value) is not finite. */
    private String nonFiniteDetail() {
        if (!options.verbose()) return "";
        for (Parameter p : s.model.parameters().trainable()) {
            for (Tensor t : new Tensor[] {p.existingGrad(), p.value()}) {
                if (t == null) continue;
                try (Tensor h = s.backend.downloadF32(t)) {
                    for (long i = 0; i < h.numel(); i++) {
                        if (!Float.isFinite(h.getFloat(i))) {
                            return "; first non-finite tensor: " + (t == p.value() ? "" : "the gradient of ") + p.name() + " (element " + i + ")";
                        }
                    }
                }
            }
        }
        return "; every gradient is finite (the loss itself overflowed)";
    }

    private record Evaluation(double loss, long tokens, double accuracy) {}

    /** The validation rows' mean next-token loss, in micro-batches of the training size, file order. */
    private Evaluation evaluate() {
        var rows = s.validationRows;
        int mbs = config.train().microBatchSize();
        double sum = 0;
        long tokens = 0, correct = 0;
        for (int i = 0, k = 0; i < rows.size(); i += mbs, k++) {
            if (dp != null && k % dp.size() != dp.rank()) continue;   // micro-batch k on rank k mod N
            int[] idx = new int[Math.min(mbs, rows.size() - i)];
            for (int j = 0; j < idx.length; j++) idx[j] = i + j;
            MicroBatch mb = Batches.microBatch(rows, idx, s.padTokenId);
            try (TransformerModel.Pass pass = s.model.forward(mb.batch())) {
                TransformerModel.Evaluation e = s.model.evaluate(pass, config.loss().impl(), lossOptions);
                sum += e.lossSum();
                correct += e.correct();
            }
            tokens += mb.targets();
        }
        if (dp != null) {
            double[] r = dp.sum(sum, tokens, correct);
            sum = r[0];
            tokens = (long) r[1];
            correct = (long) r[2];
        }
        return new Evaluation(sum / tokens, tokens, (double) correct / tokens);
    }

    private void checkpoint(long step, MetricsLog log) throws IOException {
        if (dp == null) {
            writeCheckpoint(step, log, null);
            return;
        }
        dp.checkWeightsAgree(List.copyOf(s.model.parameters().all()), "the checkpoint of step " + step);
        Map<String, Tensor> gathered = dp.zero() ? dp.gatherState(stateFileType()) : null;
        try {
            if (root) writeCheckpoint(step, log, gathered);
        } finally {
            if (gathered != null) gathered.values().forEach(Tensor::close);
        }
        dp.barrier();   // written once, by rank 0; the others wait for it
    }

    private org.cce4j.core.tensor.DType stateFileType() {
        return s.lora == null ? s.modelFileType : org.cce4j.core.tensor.DType.F32;
    }

    /** Rank 0's (or the only rank's) write; {@code gathered}: ZeRO-1's state on the host, null: the optimizer's own. */
    private void writeCheckpoint(long step, MetricsLog log, Map<String, Tensor> gathered) throws IOException {
        log.sync();
        Map<String, String> props = new LinkedHashMap<>();
        props.put("total_steps", Long.toString(s.plan.totalSteps()));
        props.put("packing", Boolean.toString(config.data().packing()));
        props.put("seq_len", Integer.toString(config.data().seqLen()));
        props.put("warmup_steps", Long.toString(s.schedule.warmupSteps()));
        props.put("device", s.backend.device().toString());
        props.put("compute_dtype", s.backend.computeDType().shortName());
        props.put("ranks", Integer.toString(dp == null ? 1 : dp.size()));
        RunFolder.writeFolder(run.checkpoint(step), dir -> {
            writeModel(dir);
            testPause(step);
            if (gathered != null) {
                CheckpointState.write(dir.resolve(RunFolder.STATE), step, s.plan.positionAfter(step), config.train().seed(), props, gathered);
            } else {
                CheckpointState.write(dir.resolve(RunFolder.STATE), step, s.plan.positionAfter(step), config.train().seed(), props,
                        s.optimizer, s.backend, stateFileType());
            }
        });
        run.prune(config.save().keep());
    }

    private boolean plotFailed;

    /**
     * Rewrites loss.png. A machine where Java cannot render text (no fonts, no fontconfig: some headless
     * servers) gets no plot and one line saying why; the run itself goes on.
     */
    private void plot(Progress progress) {
        if (plotFailed || !root) return;
        try {
            LossPlot.write(run.plot(), run.root().getFileName().toString(), run.metrics());
        } catch (IOException | RuntimeException | Error e) {
            if (e instanceof VirtualMachineError v && !(v instanceof OutOfMemoryError)) throw v;
            plotFailed = true;
            progress.message("loss.png not written: " + e.getMessage() + " (the metrics are in metrics.jsonl; installing fontconfig and a font fixes plots)");
        }
    }

    /**
     * A pause inside the write of checkpoint {@code cce4j.test.checkpointPauseAt} (after the model files,
     * before the training state) of {@code cce4j.test.checkpointPauseMs}: the test that kills a real
     * process in the middle of a checkpoint needs the moment to be long enough to hit. Off unless set.
     */
    private static void testPause(long step) {
        long ms = Long.getLong("cce4j.test.checkpointPauseMs", 0L);
        if (ms <= 0 || step != Long.getLong("cce4j.test.checkpointPauseAt", -1L)) return;
        try {
            System.err.println("train: checkpoint write paused (cce4j.test.checkpointPauseMs)");
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void writeModel(Path dir) throws IOException {
        if (s.lora != null) ModelFiles.writeAdapter(dir, s.model, s.lora);
        else ModelFiles.writeFull(dir, s.model, s.configJson, s.modelFileType, config.model());
    }

    private String memoryLine(long peak) {
        long weights = 0, grads = 0;
        for (Parameter p : s.model.parameters().all()) weights += p.value().byteSize();
        grads = s.gradientBytesAtPeak();
        long opt = s.optimizerStateBytes();
        long act = Math.max(0, peak - weights - grads - opt);
        return String.format(Locale.ROOT, "memory at the first step's peak: weights %,.0f MB, gradients %,.0f MB, optimizer %,.0f MB, "
                        + "activations and workspace %,.0f MB (peak %,.0f MB); %.1f bytes per trainable parameter",
                weights / 1e6, grads / 1e6, opt / 1e6, act / 1e6, peak / 1e6, s.bytesPerTrainableParameter());
    }

    static List<String> describe(TrainSession s) {
        return s.describe();
    }
}
