package org.cce4j.transformer;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.testing.RelativeError;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.generate.Generator;
import org.cce4j.transformer.generate.SamplingOptions;
import org.cce4j.transformer.generate.StopTokens;
import org.cce4j.transformer.model.KvCache;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Greedy generation against transformers' {@code model.generate(do_sample=False)} on the tiny
 * checkpoints of tools/reference/generate_fixtures.py (generate-reference/: Llama stopping at a token
 * of generation_config.json, Gemma 2 and 3 with a window of 4 over 30 tokens, Qwen3 with config.json's
 * stop token only): the same token ids, and the logits of the last position at the first steps (the
 * reference's own tokens fed back) within 1e-5 of transformers' float64 ones. Skipped, with a message
 * naming the script, until the fixtures exist.
 */
class GenerateReferenceTest {
    static final Path ROOT = HfReferenceTest.fixtureRoot("generate-reference", "CCE4J_GENERATE_REFERENCE_ROOT");
    static final double TOL = 1e-5;
    static final String MISSING = "(no fixtures)";

    static Stream<String> fixtures() throws IOException {
        List<String> names = List.of();
        if (Files.isDirectory(ROOT)) {
            try (Stream<Path> s = Files.list(ROOT)) {
                names = s.filter(p -> Files.isRegularFile(p.resolve("reference.safetensors")))
                        .map(p -> p.getFileName().toString()).sorted().toList();
            }
        }
        return names.isEmpty() ? Stream.of(MISSING) : names.stream();
    }

    static void assumeFixture(String name) {
        assumeTrue(!name.equals(MISSING), "no generation fixtures in " + ROOT
                + ": run python3 tools/reference/generate_fixtures.py (where torch and transformers are installed) and commit its output");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void greedyIdsAndStepLogitsEqualTransformers(String name) throws Exception {
        assumeFixture(name);
        check(name, new CpuBackend(), TOL, true);
    }

    /** The ids (when {@code ids}) and the step logits within {@code tol} on {@code backend}. */
    static void check(String name, Backend backend, double tol, boolean ids) throws Exception {
        Path folder = ROOT.resolve(name);
        String what = name + " on " + backend.device() + " " + backend.computeDType().shortName();
        try (HfCheckpoint ckpt = HfCheckpoint.open(folder);
             SafetensorsFile ref = SafetensorsFile.open(folder.resolve("reference.safetensors"));
             TransformerModel model = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend)) {
            int[] prompt = ints(ref.tensor("prompt_ids").toLongArray());
            int[] expected = ints(ref.tensor("generated_ids").toLongArray());
            int maxNew = (int) ref.tensor("max_new_tokens").getLong(0);
            if (ids) {
                Generator.Generated got = Generator.generate(model, prompt, maxNew, SamplingOptions.greedy(),
                        StopTokens.of(ckpt.config(), ckpt.generationConfig().orElse(null)), null);
                assertArrayEquals(expected, got.tokens(), what + ": greedy ids " + Arrays.toString(got.tokens())
                        + ", transformers " + Arrays.toString(expected));
            }
            double[] logits = ref.tensor("step_logits").toDoubleArray();
            int v = ckpt.config().vocabSize(), steps = logits.length / v;
            double worst = 0;
            try (KvCache cache = model.newCache(prompt.length + maxNew)) {
                float[] ours = model.extend(cache, prompt);
                for (int s = 0; s < steps; s++) {
                    if (s > 0) ours = model.extend(cache, new int[] {expected[s - 1]});
                    double[] got = new double[v];
                    for (int i = 0; i < v; i++) got[i] = ours[i];
                    double err = RelativeError.of(Arrays.copyOfRange(logits, s * v, (s + 1) * v), got);
                    assertTrue(err <= tol, what + ": step " + s + " logits relative error " + err + " > " + tol);
                    worst = Math.max(worst, err);
                }
            }
            System.out.printf(java.util.Locale.ROOT, "%s: %d ids equal, step logits worst relative error %.2e%n", what, expected.length, worst);
        }
    }

    static int[] ints(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) r[i] = Math.toIntExact(a[i]);
        return r;
    }
}
