package org.cce4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.optim.AdamW;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Training-step throughput of a small Llama on the CPU, the way {@code train} takes a step: the
 * random initialization of a from-scratch run ({@link ParameterStore#random}), one micro-batch
 * forward, the CCE loss summed and its backward, the gradient norm, AdamW, zeroed gradients.
 * Tokens/s are the median over the timed steps, by the wall clock and by the process's CPU time
 * ({@code tokens_per_cpu_s} × threads: what the step would reach with the cores to itself, the
 * figure to compare on a machine that other work shares). {@code --profile} then runs one step
 * more through {@link TimedCpuBackend} and prints the wall and CPU time per backend operation (the
 * CPU backend's operations are synchronous, so the times add up to the step less the model's own
 * bookkeeping).
 * <pre>
 *   ./cce4j example CpuTrainStepBenchmark [--hidden 256] [--layers 4] [--heads 4] [--kv-heads 2] [--head-dim 64]
 *                                         [--intermediate 688] [--vocab 4096] [--seq 256] [--batch 8]
 *                                         [--steps 5] [--warmup 5] [--profile]
 * </pre>
 * Five warm-up steps by default: on two cores the JIT needs about three steps to compile the Vector
 * API kernels with C2 (before that they run in forms that box every vector and are many times slower).
 */
public final class CpuTrainStepBenchmark {
    private CpuTrainStepBenchmark() {}

    static final String USAGE = """
            usage: ./cce4j example CpuTrainStepBenchmark [--hidden 256] [--layers 4] [--heads 4] [--kv-heads 2] [--head-dim 64]
                                                         [--intermediate 688] [--vocab 4096] [--seq 256] [--batch 8]
                                                         [--steps 5] [--warmup 5] [--profile]
              Tokens/s of a training step (forward, CCE loss, backward, AdamW) of a random-init Llama with tied
              embeddings on the CPU, f32; --profile  also times every backend operation of one step
            """;

    public static void main(String[] args) {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of("hidden", "layers", "heads", "kv-heads", "head-dim", "intermediate",
                "vocab", "seq", "batch", "steps", "warmup"), Set.of("profile"), 0);
        if (a.helpRequested()) return;
        int hidden = a.positiveInt("hidden", 256), layers = a.positiveInt("layers", 4);
        int heads = a.positiveInt("heads", 4), kvHeads = a.positiveInt("kv-heads", 2), headDim = a.positiveInt("head-dim", 64);
        int inter = a.positiveInt("intermediate", 688), vocab = a.positiveInt("vocab", 4096);
        int seq = a.positiveInt("seq", 256), batch = a.positiveInt("batch", 8);
        int steps = a.positiveInt("steps", 5), warmup = a.nonNegativeInt("warmup", 5);
        boolean profile = a.flag("profile");
        if (heads % kvHeads != 0) throw new org.cce4j.core.InvalidInputException("--heads " + heads + " is not a multiple of --kv-heads " + kvHeads);

        ModelConfig config = llama(hidden, layers, heads, kvHeads, headDim, inter, vocab, seq);
        Backend cpu = new CpuBackend();
        try (ParameterStore params = ParameterStore.random(config, cpu, 1234, 0.02)) {
            long numel = params.all().stream().mapToLong(p -> p.value().numel()).sum();
            System.out.printf(Locale.ROOT, "model: %,d parameters (hidden %d, %d layers, %d/%d heads of %d, intermediate %d, vocab %d, tied); "
                            + "batch %d x seq %d; kernels: %s; threads: %d%n", numel, hidden, layers, heads, kvHeads, headDim, inter, vocab,
                    batch, seq, CpuKernelSelector.best().description(), CpuParallel.threads());
            Batch b = randomBatch(vocab, batch, seq, 7);
            Stepper stepper = new Stepper(config, params, cpu);
            double loss = 0;
            for (int i = 0; i < warmup; i++) loss = stepper.step(b);
            double[] ms = new double[steps], cpuMs = new double[steps];
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime(), c0 = TimedCpuBackend.processCpuNanos();
                loss = stepper.step(b);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                cpuMs[i] = (TimedCpuBackend.processCpuNanos() - c0) / 1e6;
            }
            double median = median(ms), cpuMedian = median(cpuMs);
            double tokensPerSecond = b.tokens() / (median / 1000);
            double perCoreSet = b.tokens() / (cpuMedian / 1000) * CpuParallel.threads();
            System.out.printf(Locale.ROOT, "{\"impl\":\"cce4j-cpu\",\"batch\":%d,\"seq\":%d,\"params\":%d,\"step_ms\":%.1f,\"tokens_per_s\":%.0f,"
                            + "\"step_cpu_ms\":%.1f,\"tokens_per_cpu_s_x_threads\":%.0f,\"gflops_6n\":%.1f,\"steps_ms\":%s,\"loss\":%.4f}%n",
                    batch, seq, numel, median, tokensPerSecond, cpuMedian, perCoreSet, 6.0 * numel * tokensPerSecond / 1e9,
                    Arrays.toString(Arrays.stream(ms).map(x -> Math.round(x * 10) / 10.0).toArray()), loss);
            if (profile) {
                TimedCpuBackend timed = new TimedCpuBackend(cpu);
                Stepper profiled = new Stepper(config, params, timed.backend());
                long t0 = System.nanoTime();
                profiled.step(b);
                System.out.println(timed.report((System.nanoTime() - t0) / 1e6));
            }
        }
    }

    private static double median(double[] x) {
        double[] sorted = x.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** A from-scratch Llama config.json with tied embeddings. */
    static ModelConfig llama(int hidden, int layers, int heads, int kvHeads, int headDim, int inter, int vocab, int seq) {
        ObjectNode j = new ObjectMapper().createObjectNode();
        j.putArray("architectures").add("LlamaForCausalLM");
        j.put("model_type", "llama");
        j.put("hidden_size", hidden);
        j.put("num_hidden_layers", layers);
        j.put("num_attention_heads", heads);
        j.put("num_key_value_heads", kvHeads);
        j.put("head_dim", headDim);
        j.put("intermediate_size", inter);
        j.put("vocab_size", vocab);
        j.put("max_position_embeddings", Math.max(seq, 2048));
        j.put("hidden_act", "silu");
        j.put("rms_norm_eps", 1e-5);
        j.put("rope_theta", 10000.0);
        j.put("tie_word_embeddings", true);
        j.put("initializer_range", 0.02);
        return ModelConfigParser.parse(j, "CpuTrainStepBenchmark");
    }

    private static Batch randomBatch(int vocab, int batch, int seq, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(vocab);
        return Batch.causal(batch, seq, ids);
    }

    /** One training step as the trainer's loop takes it (one micro-batch, sum reduction, clipping at 1, constant lr). */
    private static final class Stepper {
        final TransformerModel model;
        final AdamW optimizer;
        final CceOptions options;
        long step;

        Stepper(ModelConfig config, ParameterStore params, Backend be) {
            model = new TransformerModel(config, params, be);
            optimizer = new AdamW(be, params.trainable(), 0.9, 0.999, 1e-8, 0.01, 1.0);
            options = model.lossOptions().withReduction(Reduction.SUM);
        }

        double step(Batch b) {
            long targets = b.tokens() - b.batch();
            double lossSum;
            try (TransformerModel.Pass pass = model.forward(b, step)) {
                lossSum = model.loss(pass, CceImpl.CCE, options, (float) (1.0 / targets), true);
            }
            try (Tensor sq = optimizer.gradSumOfSquares()) {
                optimizer.step(1e-4, sq);
            }
            model.parameters().zeroGrads();
            step++;
            return lossSum / targets;
        }
    }
}
