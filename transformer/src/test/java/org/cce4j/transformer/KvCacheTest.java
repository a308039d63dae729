package org.cce4j.transformer;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.KvCache;
import org.cce4j.transformer.model.LoraBranch;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generation's pass through a KV cache against the full forward of the same tokens, on every
 * hf-reference checkpoint (all families; the windowed ones have a window of 4, which the 20 tokens
 * here overrun): after a prefill of P tokens and each decoded token after it, the logits of the last
 * position equal the full forward's row for that position. Both are f32 on the CPU and differ only by
 * the order of sums (key order in the ring, GEMM blocking for one row), so 1e-5 relative is ample.
 */
class KvCacheTest {
    static final int T = 20;
    static final double TOL = 1e-5;

    static Stream<Arguments> fixturesAndPrefills() throws Exception {
        List<Arguments> args = new ArrayList<>();
        for (String name : HfReferenceTest.fixtures().toList()) {
            args.add(Arguments.of(name, 1));
            args.add(Arguments.of(name, 7));   // longer than the windows: the prefill's ring wraps
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0}, prefill {1}")
    @MethodSource("fixturesAndPrefills")
    void cachedLogitsEqualTheFullForwardAtEveryStep(String name, int prefill) throws Exception {
        try (Loaded m = Loaded.of(name, new CpuBackend())) {
            check(m.model, tokens(m.model.config().vocabSize(), 5), prefill, TOL, name);
        }
    }

    /** LoRA on every projection (non-zero B) goes through the cache as through the full forward. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"llama", "gemma2", "qwen3"})
    void loraAdaptersApplyInGeneration(String name) throws Exception {
        try (Loaded m = Loaded.of(name, new CpuBackend())) {
            attachRandomLora(m.model, 0.0);
            check(m.model, tokens(m.model.config().vocabSize(), 6), 3, TOL, name + " with LoRA");
        }
    }

    /** Generation is PEFT's eval mode: an adapter's dropout does not apply (the logits are those of dropout 0, bit for bit). */
    @Test
    void loraDropoutIsOffInGeneration() throws Exception {
        int[] ids = tokens(97, 7);
        float[][] withoutDropout, withDropout;
        try (Loaded m = Loaded.of("llama", new CpuBackend())) {
            attachRandomLora(m.model, 0.0);
            withoutDropout = cached(m.model, ids, 4);
        }
        try (Loaded m = Loaded.of("llama", new CpuBackend())) {
            attachRandomLora(m.model, 0.5);
            withDropout = cached(m.model, ids, 4);
        }
        for (int t = 0; t < withDropout.length; t++) assertArrayEquals(withoutDropout[t], withDropout[t], "step " + t);
    }

    @Test
    void severalTokensAfterThePromptRunOneAtATimeAndTheCapacityIsEnforced() throws Exception {
        try (Loaded m = Loaded.of("gemma2", new CpuBackend()); KvCache a = m.model.newCache(8); KvCache b = m.model.newCache(8)) {
            int[] ids = tokens(97, 8);
            m.model.extend(a, Arrays.copyOf(ids, 3));
            float[] together = m.model.extend(a, Arrays.copyOfRange(ids, 3, 8));
            m.model.extend(b, Arrays.copyOf(ids, 3));
            float[] last = null;
            for (int i = 3; i < 8; i++) last = m.model.extend(b, new int[] {ids[i]});
            assertArrayEquals(last, together);
            assertEquals(8, a.length());
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> m.model.extend(a, new int[] {1}));
            assertTrue(full.getMessage().contains("holds 8 tokens"), full.getMessage());
        }
    }

    /** Prefill of {@code prefill} tokens, then one at a time: each step's logits against the full forward's row. */
    static void check(TransformerModel model, int[] ids, int prefill, double tol, String what) {
        double[][] full = fullForward(model, ids);
        float[][] cached = cached(model, ids, prefill);
        double worst = 0;
        for (int t = prefill - 1; t < ids.length; t++) {
            double[] got = new double[cached[t].length];
            for (int i = 0; i < got.length; i++) got[i] = cached[t][i];
            double err = RelativeError.of(full[t], got);
            assertTrue(err <= tol, what + ", prefill " + prefill + ": position " + t + " relative error " + err + " > " + tol);
            worst = Math.max(worst, err);
        }
        System.out.printf(java.util.Locale.ROOT, "%s on %s, prefill %d: worst relative error %.2e%n", what,
                model.backend().device(), prefill, worst);
    }

    /** Row t: the logits after position t through the cache (null before the prefill's last). */
    static float[][] cached(TransformerModel model, int[] ids, int prefill) {
        float[][] out = new float[ids.length][];
        try (KvCache cache = model.newCache(ids.length)) {
            out[prefill - 1] = model.extend(cache, Arrays.copyOf(ids, prefill));
            for (int t = prefill; t < ids.length; t++) out[t] = model.extend(cache, new int[] {ids[t]});
        }
        return out;
    }

    static double[][] fullForward(TransformerModel model, int[] ids) {
        Backend be = model.backend();
        int v = model.config().vocabSize();
        try (TransformerModel.Pass pass = model.forward(Batch.causal(1, ids.length, ids)); Tensor logits = model.logits(pass);
             Tensor host = be.downloadF32(logits)) {
            double[] all = host.toDoubleArray();
            double[][] rows = new double[ids.length][];
            for (int t = 0; t < ids.length; t++) rows[t] = Arrays.copyOfRange(all, t * v, (t + 1) * v);
            return rows;
        }
    }

    static int[] tokens(int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[T];
        for (int i = 0; i < T; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    /** Adapters of rank 2 on every projection with random A and B (B = 0 would hide them). */
    static void attachRandomLora(TransformerModel model, double dropout) {
        LoraConfig config = LoraConfig.of(2, 4, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                dropout, "test");
        SplittableRandom r = new SplittableRandom(3);
        for (LoraBranch br : LoraAdapters.attach(model, config, null, 1).values()) {
            Tensor b = br.b().value();
            try (Tensor host = Tensor.zeros(org.cce4j.core.tensor.DType.F32, b.shape())) {
                for (long i = 0; i < host.numel(); i++) host.setFloat(i, (float) (r.nextGaussian() * 0.3));
                model.backend().copy(host, b);
            }
        }
    }

    /** A fixture's checkpoint as a model on a backend. */
    record Loaded(HfCheckpoint checkpoint, TransformerModel model) implements AutoCloseable {
        static Loaded of(String name, Backend backend) throws Exception {
            Path folder = HfReferenceTest.ROOT.resolve(name);
            HfCheckpoint ckpt = HfCheckpoint.open(folder);
            return new Loaded(ckpt, new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend));
        }

        @Override
        public void close() {
            model.close();
            checkpoint.close();
        }
    }
}
