package org.cce4j.examples;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.HfModules;
import org.cce4j.checkpoints.hf.HfWeightsWriter;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.safetensors.SafetensorsDType;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;

/**
 * The checkpoint-loading benchmark of issue 3: a bf16 checkpoint with Gemma 2 2B's exact shapes
 * (2.6 B parameters, 5.2 GB in 3 shards, random weights written here by our own writer), and one
 * with the same 26 layers, 288 tensors and 3 shards but tiny dimensions (about 3 MB):
 * <ul>
 *   <li>open: config.json parsed, every shard mapped and its header validated, every tensor checked
 *       against the config — for both, to show it does not grow with the bytes of the file;</li>
 *   <li>convert: every tensor from the mapped bf16 file (in the page cache) into f32 host tensors,
 *       in GB/s of bf16 read, next to a plain copy of the same mapped bytes (the bandwidth ceiling).</li>
 * </ul>
 * <pre>
 *   ./cce4j example CheckpointLoadBenchmark [DIR (default /tmp/cce4j-bench)] [REPS (default 3)]
 * </pre>
 * The checkpoints are generated on the first run and reused (delete DIR to regenerate).
 */
public final class CheckpointLoadBenchmark {
    static final String GEMMA2_2B = """
            {"architectures": ["Gemma2ForCausalLM"], "attention_bias": false, "attn_logit_softcapping": 50.0, "bos_token_id": 2,
             "eos_token_id": 1, "final_logit_softcapping": 30.0, "head_dim": %d, "hidden_activation": "gelu_pytorch_tanh",
             "hidden_size": %d, "intermediate_size": %d, "max_position_embeddings": 8192, "model_type": "gemma2",
             "num_attention_heads": 8, "num_hidden_layers": %d, "num_key_value_heads": 4, "pad_token_id": 0,
             "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "sliding_window": 4096,
             "torch_dtype": "bfloat16", "vocab_size": %d}
            """;

    static final String USAGE = """
            usage: ./cce4j example CheckpointLoadBenchmark [DIR] [REPS]
              Opening and converting a Gemma 2 2B-shaped bf16 checkpoint (5.2 GB, generated in DIR on the first run,
              default /tmp/cce4j-bench) and a tiny one with the same tensors; the best of REPS (default 3).
            """;

    public static void main(String[] args) throws IOException {
        ExampleArgs a = ExampleArgs.parse(args, USAGE, Set.of(), Set.of(), 2);
        if (a.helpRequested()) return;
        Path dir = a.positional(0, "DIR", "/tmp/cce4j-bench", Path::of);
        int reps = a.positional(1, "REPS", "3", ExampleArgs::positive);
        Path big = dir.resolve("gemma2-2b-bf16");
        Path small = dir.resolve("gemma2-26-layers-tiny-bf16");
        ensure(big, GEMMA2_2B.formatted(256, 2304, 9216, 26, 256000), 2_000_000_000L);
        ensure(small, GEMMA2_2B.formatted(16, 64, 128, 26, 1024), 1_100_000L);
        System.out.printf(Locale.ROOT, "threads %d (ForkJoin common pool parallelism %d)%n",
                Runtime.getRuntime().availableProcessors(), java.util.concurrent.ForkJoinPool.commonPool().getParallelism());

        for (Path p : List.of(small, big)) readThrough(p); // page cache warm for both
        double openSmall = openMillis(small, reps + 2);
        double openBig = openMillis(big, reps + 2);
        System.out.printf(Locale.ROOT, "open (parse config, map + validate shards, check shapes), best of %d: 26 tiny layers %.1f ms (%s), "
                + "Gemma 2 2B %.1f ms (%s)%n", reps + 2, openSmall, size(small), openBig, size(big));

        try (HfCheckpoint ck = HfCheckpoint.open(big)) {
            var w = ck.weights();
            long bf16Bytes = w.totalBytes();
            long t0 = System.nanoTime();
            Map<String, Tensor> f32 = new LinkedHashMap<>();
            for (String n : w.names()) f32.put(n, Tensor.zeros(DType.F32, w.info(n).shape()));
            double allocS = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "allocate %d f32 host tensors (%.2f GB, zero-filled): %.2f s%n", f32.size(), f32Bytes(f32) / 1e9, allocS);
            List<String> rows = new ArrayList<>();
            for (int r = 0; r < reps; r++) {
                // The ceiling first: a plain copy of the same mapped bytes (into the f32 buffers, overwritten next).
                long m0 = System.nanoTime();
                for (var e : f32.entrySet()) {
                    MemorySegment src = w.fileOf(e.getKey()).bytes(e.getKey());
                    MemorySegment.copy(src, 0, e.getValue().data(), 0, src.byteSize());
                }
                double copyS = (System.nanoTime() - m0) / 1e9;
                long c0 = System.nanoTime();
                for (var e : f32.entrySet()) w.loadInto(e.getKey(), e.getValue());
                double convS = (System.nanoTime() - c0) / 1e9;
                rows.add(String.format(Locale.ROOT, "rep %d: bf16 -> f32 (all threads) %.2f s = %.2f GB/s of bf16 read (%.2f GB/s f32 written) | "
                                + "plain copy of the same mapped bf16 bytes (one thread) %.2f s = %.2f GB/s",
                        r + 1, convS, bf16Bytes / convS / 1e9, 2 * bf16Bytes / convS / 1e9, copyS, bf16Bytes / copyS / 1e9));
                System.out.println(rows.getLast());
            }
            check(w, f32);
            f32.values().forEach(Tensor::close);
        }
    }

    /** Every 997th element of every tensor equals its bf16 source, so the timed work was the real work. */
    private static void check(org.cce4j.checkpoints.hf.CheckpointWeights w, Map<String, Tensor> f32) {
        for (String n : f32.keySet()) {
            Tensor view = w.tensor(n);
            Tensor out = f32.get(n);
            for (long i = 0; i < view.numel(); i += 997) {
                if (Float.floatToRawIntBits(view.getFloat(i)) != Float.floatToRawIntBits(out.getFloat(i))) {
                    throw new IllegalStateException(n + "[" + i + "] converted wrongly");
                }
            }
        }
        System.out.println("conversion spot-checked against the bf16 source: ok");
    }

    private static double openMillis(Path folder, int reps) throws IOException {
        double best = Double.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            try (HfCheckpoint ck = HfCheckpoint.open(folder)) {
                best = Math.min(best, (System.nanoTime() - t0) / 1e6);
                if (ck.weights().names().isEmpty()) throw new IllegalStateException();
            }
        }
        return best;
    }

    private static long f32Bytes(Map<String, Tensor> m) {
        return m.values().stream().mapToLong(Tensor::byteSize).sum();
    }

    private static String size(Path folder) throws IOException {
        try (var s = Files.list(folder)) {
            List<Path> shards = s.filter(p -> p.toString().endsWith(".safetensors")).toList();
            long bytes = 0;
            for (Path p : shards) bytes += Files.size(p);
            return String.format(Locale.ROOT, bytes >= 1e8 ? "%.2f GB in %d file%s" : "%.4f GB in %d file%s", bytes / 1e9, shards.size(),
                    shards.size() == 1 ? "" : "s");
        }
    }

    /** Reads every byte once so the measurements start from the page cache. */
    private static void readThrough(Path folder) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(64 << 20);
        long t0 = System.nanoTime();
        long total = 0;
        try (var s = Files.list(folder)) {
            for (Path p : s.sorted().toList()) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    int n;
                    while ((n = ch.read(buf.clear())) > 0) total += n;
                }
            }
        }
        System.out.printf(Locale.ROOT, "read through %s: %.4f GB in %.2f s%n", folder.getFileName(), total / 1e9, (System.nanoTime() - t0) / 1e9);
    }

    /** Writes the checkpoint with random bf16 weights of magnitude 2^-8..2^-4 unless it is there. */
    private static void ensure(Path folder, String json, long maxShardBytes) throws IOException {
        if (Files.isRegularFile(folder.resolve("config.json"))) return;
        Files.createDirectories(folder);
        Path tmpConfig = folder.resolve("config.json.new");
        Files.writeString(tmpConfig, json);
        ModelConfig config = ModelConfigParser.read(tmpConfig);
        long t0 = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            List<TensorEntry> entries = new ArrayList<>();
            long seed = 1;
            for (var e : HfModules.of(config).parameterShapes().entrySet()) {
                long numel = Arrays.stream(e.getValue()).reduce(1, Math::multiplyExact);
                MemorySegment seg = arena.allocate(numel * 2, 64);
                fillRandomBf16(seg, seed++);
                entries.add(TensorEntry.raw(e.getKey(), SafetensorsDType.BF16, e.getValue(), seg));
            }
            long t1 = System.nanoTime();
            HfWeightsWriter.write(folder, entries, maxShardBytes);
            long bytes = entries.stream().mapToLong(TensorEntry::fileBytes).sum();
            System.out.printf(Locale.ROOT, "generated %s: %,d parameters, random fill %.1f s, written (streaming, fsynced) %.2f GB in %.1f s%n",
                    folder.getFileName(), config.parameterCount(), (t1 - t0) / 1e9, bytes / 1e9, (System.nanoTime() - t1) / 1e9);
        }
        Files.move(tmpConfig, folder.resolve("config.json"));
    }

    private static void fillRandomBf16(MemorySegment seg, long seed) {
        long longs = seg.byteSize() / 8;
        long chunk = 1 << 20;
        LongStream.range(0, (longs + chunk - 1) / chunk).parallel().forEach(c -> {
            for (long i = c * chunk; i < Math.min(longs, (c + 1) * chunk); i++) {
                long r = mix(seed * 0x9E3779B97F4A7C15L + i);
                long v = 0;
                for (int k = 0; k < 4; k++) {
                    long bits = r >>> (16 * k);
                    long bf16 = (bits & 0x8000) | ((0x77 + ((bits >>> 7) & 3)) << 7) | (bits & 0x7F);
                    v |= bf16 << (16 * k);
                }
                seg.set(ValueLayout.JAVA_LONG_UNALIGNED, 8 * i, v);
            }
        });
        for (long b = longs * 8; b < seg.byteSize(); b++) seg.set(ValueLayout.JAVA_BYTE, b, (byte) 0x3c);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
