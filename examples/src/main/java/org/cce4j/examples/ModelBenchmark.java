package org.cce4j.examples;

import org.cce4j.transformer.backend.Activation;
import org.cce4j.transformer.backend.AdamWStep;
import org.cce4j.transformer.backend.DecodeShape;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.AttentionShape;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CudaBackend;
import org.cce4j.transformer.backend.RopeTable;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Training-step throughput of a whole model on the GPU: forward, the CCE loss and the backward into
 * every parameter's f32 gradient, on random weights and random token ids, with the device
 * allocator's peak (weights, gradients and activations: what torch.cuda.max_memory_allocated counts).
 * <pre>
 *   ModelBenchmark --config tools/reference/model_configs/llama-3.2-1b.json [--seq 2048] [--batch auto,4,...]
 *                  [--steps 5] [--warmup 2] [--dtype bf16] [--recompute] [--profile]
 * </pre>
 * One JSON line per batch size of the list. {@code auto} measures one sequence, predicts the largest
 * batch the card holds from the per-sequence memory and runs that (an out-of-memory error ends the
 * program with exit code 3, so a script can retry smaller). {@code --profile} adds, after the first
 * batch size, one step in which every backend operation is synchronized and timed, and prints the
 * time per operation.
 */
public final class ModelBenchmark {
    private ModelBenchmark() {}

    static final String USAGE = """
            usage: ./cce4j example ModelBenchmark [--config FILE] [--seq 2048] [--batch auto,4,...] [--steps 5] [--warmup 2]
                                                  [--dtype bf16] [--recompute] [--profile]
              Training-step throughput and peak memory of a whole model on CUDA device 0, random weights:
              --config   a config.json (default tools/reference/model_configs/llama-3.2-1b.json)
              --batch    batch sizes to measure; auto predicts the largest that fits (default auto)
              --recompute  recompute activations in the backward; --profile  time every operation once
            """;

    public static void main(String[] args) throws Exception {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of("config", "seq", "steps", "warmup", "dtype", "batch"),
                Set.of("recompute", "profile"), 0);
        if (a.helpRequested()) return;
        Path configPath = a.value("config", "tools/reference/model_configs/llama-3.2-1b.json", Path::of);
        int seq = a.positiveInt("seq", 2048);
        int steps = a.positiveInt("steps", 5);
        int warmup = a.nonNegativeInt("warmup", 2);
        DType dtype = a.value("dtype", "bf16", DType::parse);
        boolean recompute = a.flag("recompute"), profile = a.flag("profile");
        String batchArg = a.value("batch", "auto", ModelBenchmark::batchList);

        ModelConfig config = ModelConfigParser.read(configPath);
        CudaDevice dev = CudaDevice.get(0);
        CudaBackend cuda = new CudaBackend(dev, dtype);
        try (ParameterStore params = randomParameters(config, cuda, 1234)) {
            TransformerModel model = new TransformerModel(config, params, cuda);
            model.setRecompute(recompute);
            String name = configPath.getFileName().toString().replaceFirst("\\.json$", "");
            boolean first = true;
            for (String arg : batchArg.split(",")) {
                int b;
                if (arg.trim().equals("auto")) {
                    Result one = run(model, dev, 1, seq, 1, 1);
                    System.out.println(one.json(name, dtype, recompute, "probe"));
                    long budget = dev.totalMemory() - (3L << 30);
                    long perSeq = Math.max(1, one.peakBytes - one.fixedBytes);
                    b = (int) Math.max(1, (budget - one.fixedBytes) / perSeq);
                    System.err.printf(Locale.ROOT, "fixed %.0f MiB, %.0f MiB per sequence: batch %d%n", one.fixedBytes / 1048576.0,
                            perSeq / 1048576.0, b);
                } else {
                    b = ExampleArgs.positive(arg);
                }
                Result r;
                try {
                    r = run(model, dev, b, seq, steps, warmup);
                } catch (RuntimeException e) {
                    if (String.valueOf(e.getMessage()).contains("OUT_OF_MEMORY")) {
                        System.out.println("{\"model\":\"" + name + "\",\"batch\":" + b + ",\"error\":\"out of memory\"}");
                        System.exit(3);
                    }
                    throw e;
                }
                System.out.println(r.json(name, dtype, recompute, "measured"));
                if (profile && first) profile(config, params, cuda, dev, b, seq, recompute);
                first = false;
            }
        }
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

    record Result(int batch, int seq, double stepMs, double tokensPerSecond, long peakBytes, long fixedBytes, float loss) {
        String json(String model, DType dtype, boolean recompute, String kind) {
            return String.format(Locale.ROOT, "{\"impl\":\"cce4j\",\"kind\":\"%s\",\"model\":\"%s\",\"dtype\":\"%s\",\"recompute\":%b,"
                            + "\"batch\":%d,\"seq\":%d,\"step_ms\":%.1f,\"tokens_per_s\":%.0f,\"peak_mib\":%.0f,\"weights_grads_mib\":%.0f,"
                            + "\"loss\":%.4f}", kind, model, dtype.shortName(), recompute, batch, seq, stepMs, tokensPerSecond,
                    peakBytes / 1048576.0, fixedBytes / 1048576.0, loss);
        }
    }

    private static Batch randomBatch(ModelConfig config, int batch, int seq, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(config.vocabSize());
        return Batch.causal(batch, seq, ids);
    }

    private static float step(TransformerModel model, Batch b) {
        try (TransformerModel.Pass pass = model.forward(b)) {
            return model.loss(pass, CceImpl.CCE, true);
        }
    }

    /** Median step time over {@code steps} steps after {@code warmup}; peak over the measured steps. */
    static Result run(TransformerModel model, CudaDevice dev, int batch, int seq, int steps, int warmup) {
        dev.allocator().releaseCache();
        Batch b = randomBatch(model.config(), batch, seq, 7);
        float loss = 0;
        for (int i = 0; i < warmup; i++) loss = step(model, b);
        dev.synchronize();
        long fixed = dev.allocator().bytesInUse();
        dev.allocator().resetPeak();
        double[] ms = new double[steps];
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            loss = step(model, b);
            dev.synchronize();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        java.util.Arrays.sort(ms);
        double median = ms[steps / 2];
        return new Result(batch, seq, median, batch * (double) seq / (median / 1000), dev.allocator().peakBytes(), fixed, loss);
    }

    /** One step with every operation synchronized and timed; prints ms per operation, largest first. */
    static void profile(ModelConfig config, ParameterStore params, CudaBackend cuda, CudaDevice dev, int batch, int seq, boolean recompute) {
        TimedBackend timed = new TimedBackend(cuda, dev);
        TransformerModel model = new TransformerModel(config, params, timed);
        model.setRecompute(recompute);
        Batch b = randomBatch(config, batch, seq, 7);
        step(model, b);
        timed.times.clear();
        dev.synchronize();
        long t0 = System.nanoTime();
        step(model, b);
        dev.synchronize();
        double total = (System.nanoTime() - t0) / 1e6;
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "{\"profile\":\"%s\",\"batch\":%d,\"step_ms\":%.1f,\"ops_ms\":{",
                config.architecture(), batch, total));
        List<Map.Entry<String, double[]>> ops = new ArrayList<>(timed.times.entrySet());
        ops.sort((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0]));
        for (int i = 0; i < ops.size(); i++) {
            if (i > 0) sb.append(',');
            sb.append(String.format(Locale.ROOT, "\"%s\":[%.1f,%d]", ops.get(i).getKey(), ops.get(i).getValue()[0], (long) ops.get(i).getValue()[1]));
        }
        System.out.println(sb.append("}}"));
    }

    /** A backend that synchronizes around every operation and adds its wall time to a per-operation total (ms, calls). */
    static final class TimedBackend implements Backend {
        final Backend be;
        final CudaDevice dev;
        final Map<String, double[]> times = new TreeMap<>();

        TimedBackend(Backend be, CudaDevice dev) {
            this.be = be;
            this.dev = dev;
        }

        private void timed(String op, Runnable r) {
            dev.synchronize();
            long t0 = System.nanoTime();
            r.run();
            dev.synchronize();
            double[] t = times.computeIfAbsent(op, k -> new double[2]);
            t[0] += (System.nanoTime() - t0) / 1e6;
            t[1]++;
        }

        private static String shape(Tensor x, Tensor w) {
            return x.dim(-1) + "x" + w.dim(0);
        }

        @Override public Device device() { return be.device(); }
        @Override public DType computeDType() { return be.computeDType(); }
        @Override public Tensor zeros(DType dtype, long... shape) {
            Tensor[] out = new Tensor[1];
            timed("zeros", () -> out[0] = be.zeros(dtype, shape));
            return out[0];
        }
        @Override public Tensor empty(DType dtype, long... shape) { return be.empty(dtype, shape); }
        @Override public Tensor upload(Tensor host, DType dtype) { return be.upload(host, dtype); }
        @Override public Tensor downloadF32(Tensor t) { return be.downloadF32(t); }
        @Override public void linear(Tensor x, Tensor w, Tensor b, Tensor y) { timed("linear " + shape(x, w), () -> be.linear(x, w, b, y)); }
        @Override public void linearBackward(Tensor dy, Tensor x, Tensor w, Tensor dx, boolean acc, Tensor dw, Tensor db) {
            timed("linearBackward " + shape(x, w), () -> be.linearBackward(dy, x, w, dx, acc, dw, db));
        }
        @Override public void rmsNorm(Tensor x, Tensor w, float eps, boolean unit, Tensor y, Tensor rstd) {
            timed("rmsNorm", () -> be.rmsNorm(x, w, eps, unit, y, rstd));
        }
        @Override public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, boolean unit, Tensor dx, Tensor dw) {
            timed("rmsNormBackward", () -> be.rmsNormBackward(dy, x, w, rstd, unit, dx, dw));
        }
        @Override public void rope(Tensor x, int heads, RopeTable t, int[] pos, boolean inverse) {
            timed(inverse ? "ropeBackward" : "rope", () -> be.rope(x, heads, t, pos, inverse));
        }
        @Override public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            timed("attention", () -> be.attention(s, q, k, v, out, lse));
        }
        @Override public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                                                Tensor dq, Tensor dk, Tensor dv) {
            timed("attentionBackward", () -> be.attentionBackward(s, q, k, v, out, lse, dOut, dq, dk, dv));
        }
        @Override public void gatedActivation(Activation act, Tensor g, Tensor u, Tensor out) {
            timed("gatedActivation", () -> be.gatedActivation(act, g, u, out));
        }
        @Override public void gatedActivationBackward(Activation act, Tensor g, Tensor u, Tensor d, Tensor dg, Tensor du) {
            timed("gatedActivationBackward", () -> be.gatedActivationBackward(act, g, u, d, dg, du));
        }
        @Override public void embedding(int[] ids, Tensor table, float scale, Tensor out) {
            timed("embedding", () -> be.embedding(ids, table, scale, out));
        }
        @Override public void embeddingBackward(int[] ids, Tensor dOut, float scale, Tensor dTable, int paddingIdx) {
            timed("embeddingBackward", () -> be.embeddingBackward(ids, dOut, scale, dTable, paddingIdx));
        }
        @Override public void add(Tensor a, Tensor b, Tensor out) { timed("add", () -> be.add(a, b, out)); }
        @Override public void softcap(Tensor x, float cap) { timed("softcap", () -> be.softcap(x, cap)); }
        @Override public void copy(Tensor src, Tensor dst) { timed("copy", () -> be.copy(src, dst)); }
        @Override public long bytesInUse() { return be.bytesInUse(); }
        @Override public long peakBytes() { return be.peakBytes(); }
        @Override public void resetPeak() { be.resetPeak(); }
        @Override public Tensor download(Tensor t) { return be.download(t); }
        @Override public void decodeAttention(DecodeShape s, Tensor q, Tensor k, Tensor v, Tensor out) {
            timed("decodeAttention", () -> be.decodeAttention(s, q, k, v, out));
        }
        @Override public void linearAccumulate(Tensor x, Tensor w, Tensor y) { timed("linearAccumulate", () -> be.linearAccumulate(x, w, y)); }
        @Override public void scale(Tensor x, float s) { timed("scale", () -> be.scale(x, s)); }
        @Override public void dropout(Tensor x, Tensor out, float p, long seed) { timed("dropout", () -> be.dropout(x, out, p, seed)); }
        @Override public void sumOfSquares(Tensor x, Tensor acc) { timed("sumOfSquares", () -> be.sumOfSquares(x, acc)); }
        @Override public void adamw(Tensor value, Tensor master, Tensor grad, Tensor m, Tensor v, Tensor sq, AdamWStep st) {
            timed("adamw", () -> be.adamw(value, master, grad, m, v, sq, st));
        }
        @Override public LinearCrossEntropy crossEntropy(CceImpl impl) {
            LinearCrossEntropy inner = be.crossEntropy(impl);
            return new LinearCrossEntropy() {
                @Override public CceForward forward(CceInputs in, CceOptions o) {
                    CceForward[] f = new CceForward[1];
                    timed("cce forward", () -> f[0] = inner.forward(in, o));
                    return f[0];
                }
                @Override public CceGradients backward(CceForward f, Tensor up, CceGradients into) {
                    CceGradients[] g = new CceGradients[1];
                    timed("cce backward", () -> g[0] = inner.backward(f, up, into));
                    return g[0];
                }
            };
        }
    }
}
