package org.cce4j.examples;

import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.optim.AdamW;
import org.cce4j.transformer.backend.CudaBackend;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Training-step throughput of a whole model on the GPU, on random weights and random token ids: the
 * step {@code train} takes — forward, the CCE loss (summed, scaled by 1 / targets), the backward into
 * every trainable parameter's f32 gradient, the global gradient norm (read by the host, as train reads
 * it to stop before a non-finite update), AdamW with clipping at 1.0 on f32 masters and moments, zeroed
 * gradients — for full fine-tuning or LoRA (r on every projection), with the device allocator's peak
 * by part (what torch.cuda.max_memory_allocated counts).
 * <pre>
 *   ModelBenchmark --config tools/reference/model_configs/llama-3.2-1b.json [--seq 2048] [--batch auto,4,...]
 *                  [--steps 5] [--warmup 2] [--dtype bf16] [--optim adamw|adamw-in-backward|none] [--lora R] [--recompute] [--profile]
 * </pre>
 * One JSON line per batch size of the list. {@code auto} measures one and four sequences, predicts the
 * largest batch the card holds from the growth of the peak per sequence and runs that (an out-of-memory error ends the
 * program with exit code 3, so a script can retry smaller). {@code --optim none} is forward and backward
 * alone (the anchor's hf_step_bench.py). {@code --profile} adds, after the first batch size, one step in
 * which every backend operation is bracketed by CUDA events (nothing synchronized) and prints each operation's
 * device time, the device's idle time between operations (idle_ms: waiting for the host; idle_before_ms: that
 * time by the operation it waited for) and the wall time outside the first and last operation (outside_ms).
 */
public final class ModelBenchmark {
    private ModelBenchmark() {}

    static final String USAGE = """
            usage: ./cce4j example ModelBenchmark [--config FILE] [--seq 2048] [--batch auto,4,...] [--steps 5] [--warmup 2]
                                                  [--dtype bf16] [--optim adamw|adamw-in-backward|none] [--lora R] [--recompute] [--profile]
              Training-step throughput and peak memory of a whole model on CUDA device 0, random weights:
              --config   a config.json (default tools/reference/model_configs/llama-3.2-1b.json)
              --batch    batch sizes to measure; auto predicts the largest that fits (default auto)
              --optim    adamw (default: the train step, AdamW with clipping), adamw-in-backward (train.optimizer_in_backward:
                         each layer updated as the backward finishes it, no clipping) or none (forward and backward only)
              --lora     LoRA of rank R (alpha 2R, dropout 0.05) on every projection, the base frozen
              --recompute  recompute activations in the backward; --profile  time every operation once
            """;

    static final List<String> PROJECTIONS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public static void main(String[] args) throws Exception {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of("config", "seq", "steps", "warmup", "dtype", "batch", "optim", "lora"),
                Set.of("recompute", "profile"), 0);
        if (a.helpRequested()) return;
        Path configPath = a.value("config", "tools/reference/model_configs/llama-3.2-1b.json", Path::of);
        int seq = a.positiveInt("seq", 2048);
        int steps = a.positiveInt("steps", 5);
        int warmup = a.nonNegativeInt("warmup", 2);
        DType dtype = a.value("dtype", "bf16", DType::parse);
        boolean recompute = a.flag("recompute"), profile = a.flag("profile");
        String batchArg = a.value("batch", "auto", ModelBenchmark::batchList);
        String optim = a.value("optim", "adamw", ModelBenchmark::optimizer);
        boolean adamw = !optim.equals("none"), inBackward = optim.equals("adamw-in-backward");
        int lora = a.flag("lora") ? a.positiveInt("lora", 16) : 0;

        ModelConfig config = ModelConfigParser.read(configPath);
        CudaDevice dev = CudaDevice.get(0);
        TimedBackend be = new TimedBackend(new CudaBackend(dev, dtype), dev);
        try (ParameterStore params = randomParameters(config, (CudaBackend) be.be, 1234)) {
            TransformerModel model = new TransformerModel(config, params, be);
            model.setRecompute(recompute);
            if (lora > 0) {
                LoraAdapters.attach(model, LoraConfig.of(lora, 2.0 * lora, PROJECTIONS, 0.05, "random"), null, 99);
            }
            String name = configPath.getFileName().toString().replaceFirst("\\.json$", "");
            Setup setup = new Setup(name, dtype, recompute, optim, lora);
            try (AdamW opt = adamw ? new AdamW(be, params.trainable(), 0.9, 0.999, 1e-8, 0.0, inBackward ? 0.0 : 1.0) : null) {
                TrainStep step = new TrainStep(model, opt, inBackward);
                boolean first = true;
                for (String arg : batchArg.split(",")) {
                    int b;
                    if (arg.trim().equals("auto")) {
                        // two probes: the peak's growth from 1 to 4 sequences is the memory per sequence, whatever
                        // the step keeps whole (weights, optimizer state, gradients or, in the backward, one layer's)
                        Result one = run(step, dev, 1, seq, 1, 1), four = run(step, dev, 4, seq, 1, 1);
                        System.out.println(one.json(setup, "probe"));
                        System.out.println(four.json(setup, "probe"));
                        long budget = dev.totalMemory() - (3L << 30);
                        long perSeq = Math.max(1, (four.peakBytes - one.peakBytes) / 3);
                        long base = one.peakBytes - perSeq;
                        b = (int) Math.max(1, (budget - base) / perSeq);
                        System.err.printf(Locale.ROOT, "peak %.0f MiB at 1 sequence, %.0f MiB at 4: %.0f MiB per sequence, batch %d%n",
                                one.peakBytes / 1048576.0, four.peakBytes / 1048576.0, perSeq / 1048576.0, b);
                    } else {
                        b = ExampleArgs.positive(arg);
                    }
                    Result r;
                    try {
                        r = run(step, dev, b, seq, steps, warmup);
                    } catch (RuntimeException e) {
                        if (String.valueOf(e.getMessage()).contains("OUT_OF_MEMORY")) {
                            System.out.println("{\"model\":\"" + name + "\",\"batch\":" + b + ",\"error\":\"out of memory\"}");
                            System.exit(3);
                        }
                        throw e;
                    }
                    System.out.println(r.json(setup, "measured"));
                    if (profile && first) profile(step, be, dev, b, seq);
                    first = false;
                }
            }
        }
    }

    private static String optimizer(String s) {
        return switch (s) {
            case "adamw", "adamw-in-backward", "none" -> s;
            default -> throw new InvalidInputException("--optim must be adamw, adamw-in-backward or none, got " + s);
        };
    }

    /** --batch: a comma-separated list of positive sizes and "auto"; checked before the model is built. */
    private static String batchList(String list) {
        for (String b : list.split(",")) {
            if (!b.trim().equals("auto")) ExampleArgs.positive(b);
        }
        return list;
    }

    /** HF's initialization: N(0, 0.02²) for matrices and embeddings, norms at their identity (1, or 0 for Gemma's 1 + w), biases 0. */
    static ParameterStore randomParameters(ModelConfig config, CudaBackend be, long seed) {
        ParameterStore store = new ParameterStore();
        CudaDevice dev = be.cudaDevice();
        DType dt = be.computeDType();
        var fill = dev.module("random.cu", List.of("CCE_ELEM=" + (dt == DType.F32 ? 0 : 1))).kernel("fill_normal");
        int i = 0;
        for (Map.Entry<String, long[]> e : HfModules.of(config).parameterShapes().entrySet()) {
            String n = e.getKey();
            Tensor t = be.zeros(dt, e.getValue());
            if (n.endsWith("norm.weight")) {
                if (!config.family().unitOffsetRmsNorm()) {
                    int bits = dt == DType.F32 ? Float.floatToRawIntBits(1f) : 0x3F803F80;
                    dev.fill32(t.address(), bits, t.byteSize() / 4);
                }
            } else if (!n.endsWith(".bias")) {
                fill.launch((int) ((t.numel() + 255) / 256), 1, 256, 0, t.address(), t.numel(), seed + 1000L * i++, 0.02f);
            }
            store.add(n, t, be, true);
        }
        dev.synchronize("random parameters");
        return store;
    }

    /** What a measurement ran: printed with each result. */
    record Setup(String model, DType dtype, boolean recompute, String optim, int lora) {}

    /**
     * One measurement. Memory by part: weights (every parameter's value, and the LoRA matrices), gradients
     * (f32, the trainable parameters'), optimizer (f32 moments and masters), activations and workspaces =
     * the rest of the peak (peak − what stays allocated between steps − the gradients when they are
     * allocated in the step and freed after its update).
     */
    record Result(int batch, int seq, double stepMs, double tokensPerSecond, long peakBytes, long fixedBytes, double loss,
                  long weightBytes, long gradBytes, long transientGradBytes, long optimizerBytes, long trainable) {
        String json(Setup s, String kind) {
            double perParam = s.lora == 0 && trainable > 0 && !s.optim.equals("adamw-in-backward") ? (weightBytes + gradBytes + optimizerBytes) / (double) trainable : Double.NaN;
            return String.format(Locale.ROOT, "{\"impl\":\"cce4j\",\"kind\":\"%s\",\"model\":\"%s\",\"dtype\":\"%s\",\"optim\":\"%s\","
                            + "\"lora\":%d,\"recompute\":%b,\"batch\":%d,\"seq\":%d,\"step_ms\":%.1f,\"tokens_per_s\":%.0f,\"peak_mib\":%.0f,"
                            + "\"fixed_mib\":%.0f,\"weights_mib\":%.0f,\"grads_mib\":%.0f,\"optimizer_mib\":%.0f,\"activations_mib\":%.0f,"
                            + "\"activations_mib_per_seq\":%.0f,\"trainable\":%d,\"bytes_per_trainable_param\":%s,\"loss\":%.4f}",
                    kind, s.model, s.dtype.shortName(), s.optim, s.lora, s.recompute, batch, seq, stepMs, tokensPerSecond,
                    mib(peakBytes), mib(fixedBytes), mib(weightBytes), mib(gradBytes), mib(optimizerBytes), mib(activations()),
                    mib(activations()) / batch, trainable, Double.isNaN(perParam) ? "null" : String.format(Locale.ROOT, "%.2f", perParam), loss);
        }

        long activations() {
            return peakBytes - fixedBytes - transientGradBytes;
        }

        private static double mib(long bytes) {
            return bytes / 1048576.0;
        }
    }

    private static Batch randomBatch(ModelConfig config, int batch, int seq, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(config.vocabSize());
        return Batch.causal(batch, seq, ids);
    }

    /** The step as train takes it (Trainer.trainStep with one micro-batch), or forward and backward alone. */
    static final class TrainStep {
        final TransformerModel model;
        final AdamW opt;
        final boolean inBackward;
        final CceOptions lossOptions;

        TrainStep(TransformerModel model, AdamW opt, boolean inBackward) {
            this.model = model;
            this.opt = opt;
            this.inBackward = inBackward;
            this.lossOptions = model.lossOptions().withReduction(Reduction.SUM);
        }

        double run(Batch b) {
            if (opt == null) {
                try (TransformerModel.Pass pass = model.forward(b)) {
                    return model.loss(pass, CceImpl.CCE, true);
                }
            }
            long targets = (long) b.batch() * (b.seqLen() - 1);
            double sum;
            if (inBackward) {   // train.optimizer_in_backward: each layer updated, its gradients freed, as the backward finishes them
                try (Tensor sq = model.backend().zeros(org.cce4j.core.tensor.DType.F64, 1)) {
                    opt.beginStep();
                    try (TransformerModel.Pass pass = model.forward(b)) {
                        sum = model.loss(pass, CceImpl.CCE, lossOptions, (float) (1.0 / targets), true, g -> opt.stepParameters(g, 1e-5, sq));
                    }
                    try (Tensor host = model.backend().download(sq)) {
                        if (!Double.isFinite(host.getDouble(0))) throw new IllegalStateException("non-finite gradient norm");
                    }
                }
                model.parameters().zeroGrads();
                return sum / targets;
            }
            try (TransformerModel.Pass pass = model.forward(b)) {
                sum = model.loss(pass, CceImpl.CCE, lossOptions, (float) (1.0 / targets), true);
            }
            try (Tensor sq = opt.gradSumOfSquares()) {
                try (Tensor host = model.backend().download(sq)) {
                    if (!Double.isFinite(host.getDouble(0))) throw new IllegalStateException("non-finite gradient norm");
                }
                opt.step(1e-5, sq);
            }
            model.parameters().zeroGrads();
            return sum / targets;
        }

        long weightBytes() {
            long w = 0;
            for (Parameter p : model.parameters().all()) w += p.value().byteSize();
            return w;
        }

        /**
         * The f32 gradients of the trainable parameters, as they stand at the step's peak (zeroGrads frees them
         * after the update); 0 with adamw-in-backward, whose few live gradients (a layer's, and the embedding's)
         * are counted with the activations.
         */
        long gradBytes() {
            return inBackward ? 0 : 4 * trainable();
        }

        /** What the step adds on top of the memory held between steps, besides the activations: the gradients when they are freed each step. */
        long transientGradBytes() {
            return opt == null ? 0 : gradBytes();
        }

        long trainable() {
            return model.parameters().trainable().stream().mapToLong(p -> p.value().numel()).sum();
        }
    }

    /** Median step time over {@code steps} steps after {@code warmup}; peak over the measured steps. */
    static Result run(TrainStep step, CudaDevice dev, int batch, int seq, int steps, int warmup) {
        dev.allocator().releaseCache();
        Batch b = randomBatch(step.model.config(), batch, seq, 7);
        double loss = 0;
        for (int i = 0; i < warmup; i++) loss = step.run(b);
        dev.synchronize();
        long fixed = dev.allocator().bytesInUse();
        dev.allocator().resetPeak();
        double[] ms = new double[steps];
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            loss = step.run(b);
            dev.synchronize();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        java.util.Arrays.sort(ms);
        double median = ms[steps / 2];
        return new Result(batch, seq, median, batch * (double) seq / (median / 1000), dev.allocator().peakBytes(), fixed, loss,
                step.weightBytes(), step.gradBytes(), step.transientGradBytes(), step.opt == null ? 0 : step.opt.stateBytes(), step.trainable());
    }

    /** One step with every operation timed by CUDA events; prints ms per operation, largest first. */
    static void profile(TrainStep step, TimedBackend timed, CudaDevice dev, int batch, int seq) {
        Batch b = randomBatch(step.model.config(), batch, seq, 7);
        step.run(b);
        dev.synchronize();
        timed.times.clear();
        timed.enabled = true;
        long t0 = System.nanoTime();
        step.run(b);
        dev.synchronize();
        double total = (System.nanoTime() - t0) / 1e6;
        timed.enabled = false;
        TimedBackend.Span span = timed.collect();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "{\"profile\":\"%s\",\"batch\":%d,\"step_ms\":%.1f,\"device_ms\":%.1f,\"idle_ms\":%.1f,\"outside_ms\":%.1f,\"ops_ms\":{",
                step.model.config().architecture(), batch, total, span.opsMs(), span.idleMs(), total - span.opsMs() - span.idleMs()));
        appendLargestFirst(sb, timed.times);
        sb.append("},\"idle_before_ms\":{");
        appendLargestFirst(sb, span.idleBefore());
        System.out.println(sb.append("}}"));
    }

    /** {@code "name":[ms,count]} entries, the largest ms first. */
    private static void appendLargestFirst(StringBuilder sb, Map<String, double[]> times) {
        List<Map.Entry<String, double[]>> list = new ArrayList<>(times.entrySet());
        list.sort((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0]));
        for (int i = 0; i < list.size(); i++) {
            if (i > 0) sb.append(',');
            sb.append(String.format(Locale.ROOT, "\"%s\":[%.1f,%d]", list.get(i).getKey(), list.get(i).getValue()[0], (long) list.get(i).getValue()[1]));
        }
    }
}
