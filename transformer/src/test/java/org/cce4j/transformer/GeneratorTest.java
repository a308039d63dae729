package org.cce4j.transformer;

import org.cce4j.checkpoints.hf.GenerationConfig;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.generate.Generator;
import org.cce4j.transformer.generate.Sampler;
import org.cce4j.transformer.generate.SamplingOptions;
import org.cce4j.transformer.generate.StopTokens;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The generation loop on an hf-reference checkpoint: each greedy token is the argmax of the full
 * forward's last row over the prompt and the tokens before it (no cache involved in the check),
 * generation stops after a stop token, which it keeps, or after max-new-tokens, and sampling is
 * reproducible from its seed. The stop tokens are generation_config.json's when it names any.
 */
class GeneratorTest {
    static final int[] PROMPT = {5, 17, 42, 8, 61, 3};

    @Test
    void greedyTokensAreTheFullForwardsArgmaxes() throws Exception {
        for (String name : List.of("llama", "gemma2", "gemma3", "qwen3")) {
            try (KvCacheTest.Loaded m = KvCacheTest.Loaded.of(name, new CpuBackend())) {
                List<Integer> streamed = new ArrayList<>();
                Generator.Generated g = Generator.generate(m.model(), PROMPT, 12, SamplingOptions.greedy(), Set.of(), streamed::add);
                assertEquals(Generator.Stop.MAX_NEW_TOKENS, g.stop());
                assertEquals(12, g.tokens().length);
                assertEquals(Arrays.stream(g.tokens()).boxed().toList(), streamed, "every token is streamed as it comes");
                int[] seq = Arrays.copyOf(PROMPT, PROMPT.length + g.tokens().length);
                System.arraycopy(g.tokens(), 0, seq, PROMPT.length, g.tokens().length);
                for (int t = 0; t < g.tokens().length; t++) {
                    double[][] full = KvCacheTest.fullForward(m.model(), Arrays.copyOf(seq, PROMPT.length + t));
                    double[] last = full[full.length - 1];
                    float[] f = new float[last.length];
                    for (int i = 0; i < f.length; i++) f[i] = (float) last[i];
                    assertEquals(Sampler.argmax(f), g.tokens()[t], name + " step " + t);
                }
            }
        }
    }

    @Test
    void aStopTokenEndsGenerationAndIsKept() throws Exception {
        try (KvCacheTest.Loaded m = KvCacheTest.Loaded.of("llama", new CpuBackend())) {
            int[] free = Generator.generate(m.model(), PROMPT, 12, SamplingOptions.greedy(), Set.of(), null).tokens();
            int k = 3;
            while (!firstAt(free, k)) k--;   // a step that produces its token for the first time (step 0 always does)
            Generator.Generated g = Generator.generate(m.model(), PROMPT, 12, SamplingOptions.greedy(), Set.of(free[k], 96), null);
            assertEquals(Generator.Stop.STOP_TOKEN, g.stop());
            assertArrayEquals(Arrays.copyOf(free, k + 1), g.tokens());
            assertEquals(1, Generator.generate(m.model(), PROMPT, 1, SamplingOptions.greedy(), Set.of(), null).tokens().length);
        }
    }

    private static boolean firstAt(int[] a, int k) {
        for (int i = 0; i < k; i++) if (a[i] == a[k]) return false;
        return true;
    }

    @Test
    void samplingIsReproducibleFromItsSeed() throws Exception {
        try (KvCacheTest.Loaded m = KvCacheTest.Loaded.of("qwen3", new CpuBackend())) {
            int[] a = Generator.generate(m.model(), PROMPT, 16, new SamplingOptions(1.5, 0, 0.95, 42), Set.of(), null).tokens();
            int[] b = Generator.generate(m.model(), PROMPT, 16, new SamplingOptions(1.5, 0, 0.95, 42), Set.of(), null).tokens();
            int[] c = Generator.generate(m.model(), PROMPT, 16, new SamplingOptions(1.5, 0, 0.95, 43), Set.of(), null).tokens();
            assertArrayEquals(a, b);
            assertFalse(Arrays.equals(a, c), "another seed, other draws");
        }
    }

    @Test
    void stopTokensComeFromGenerationConfigFirst() throws Exception {
        try (KvCacheTest.Loaded m = KvCacheTest.Loaded.of("gemma2", new CpuBackend())) {
            ModelConfig c = m.model().config();
            assertEquals(Set.copyOf(c.eosTokenIds()), StopTokens.of(c, null));
            GenerationConfig g = new GenerationConfig(null, List.of(7, 9), null, null, null, null, null, null, null, null, null);
            assertEquals(Set.of(7, 9), StopTokens.of(c, g));
            GenerationConfig none = new GenerationConfig(null, null, null, null, null, null, null, null, null, null, null);
            assertEquals(Set.copyOf(c.eosTokenIds()), StopTokens.of(c, none));
        }
    }
}
