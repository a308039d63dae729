package org.cce4j.transformer;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every family against transformers (tools/reference/model_fixtures.py, float64 references of tiny
 * random checkpoints, with wide weights and with transformers' default initialization): logits,
 * loss and every parameter gradient within 1e-4 relative error
 * (‖ours − ref‖ / ‖ref‖ per tensor), on the CPU backend in f32, with and without recomputation.
 */
class HfReferenceTest {
    static final Path ROOT = fixtureRoot();
    static final double TOL = 1e-4;

    /**
     * Every fixture folder (one holding reference.safetensors) under the root, by its path relative to
     * it: the wide-weight set at the top ("llama", ...) and transformers' default initialization under
     * default-init/ ("default-init/llama", ...).
     */
    static Stream<String> fixtures() throws IOException {
        try (Stream<Path> s = Files.walk(ROOT, 2)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("reference.safetensors")))
                    .map(p -> ROOT.relativize(p).toString().replace('\\', '/')).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void matchesTransformers(String name) throws Exception {
        check(name, false);
    }

    @ParameterizedTest(name = "{0} (recompute)")
    @MethodSource("fixtures")
    void recomputationGivesTheSameGradients(String name) throws Exception {
        check(name, true);
    }

    private void check(String name, boolean recompute) throws Exception {
        check(name, new CpuBackend(), recompute, TOL);
    }

    /**
     * The fixtures, from the test class path (so the GPU bundle, run from elsewhere, finds them too);
     * {@code CCE4J_HF_REFERENCE_ROOT} points the tests at another set (fresh output of model_fixtures.py).
     */
    private static Path fixtureRoot() {
        return fixtureRoot("hf-reference", "CCE4J_HF_REFERENCE_ROOT");
    }

    static Path fixtureRoot(String resource, String overrideVariable) {
        String override = System.getenv(overrideVariable);
        if (override != null && !override.isBlank()) return Path.of(override);
        java.net.URL url = HfReferenceTest.class.getResource("/" + resource);
        try {
            if (url != null && "file".equals(url.getProtocol())) return Path.of(url.toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return Path.of("src/test/resources/" + resource);
    }

    /** Logits, loss and every parameter gradient of fixture {@code name} on {@code backend}, within {@code tol}. */
    static void check(String name, Backend backend, boolean recompute, double tol) throws Exception {
        String what = name + " on " + backend.device() + " " + backend.computeDType().shortName();
        errors(name, backend, recompute).forEach((tensor, err) ->
                assertTrue(err <= tol, what + " " + tensor + ": relative error " + err + " > " + tol));
    }

    /**
     * ‖ours − transformers‖ / ‖transformers‖ of the logits, the loss and every parameter gradient (in
     * that order, keyed "logits", "loss", "grad.NAME"); every value is checked finite and every
     * reference gradient present.
     */
    static Map<String, Double> errors(String name, Backend backend, boolean recompute) throws Exception {
        Path folder = ROOT.resolve(name);
        String what = name + " on " + backend.device() + " " + backend.computeDType().shortName();
        Map<String, Double> errors = new LinkedHashMap<>();
        try (HfCheckpoint ckpt = HfCheckpoint.open(folder);
             SafetensorsFile ref = SafetensorsFile.open(folder.resolve("reference.safetensors"));
             TransformerModel model = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), backend), backend)) {
            model.setRecompute(recompute);
            Batch batch = batchOf(ref);
            try (TransformerModel.Pass pass = model.forward(batch); Tensor logits = model.logits(pass);
                 Tensor hostLogits = backend.downloadF32(logits)) {
                errors.put("logits", error(ref.tensor("logits").toDoubleArray(), hostLogits.toDoubleArray(), what + " logits"));
                float loss = model.loss(pass, CceImpl.CCE_EXACT, true);
                errors.put("loss", error(new double[] {ref.tensor("loss").getDouble(0)}, new double[] {loss}, what + " loss"));
            }
            for (Parameter p : model.parameters().all()) {
                String key = "grad." + p.name();
                assertTrue(ref.contains(key), "the reference has no " + key);
                try (Tensor grad = backend.downloadF32(p.existingGrad())) {
                    errors.put(key, error(ref.tensor(key).toDoubleArray(), grad.toDoubleArray(), what + " " + key));
                }
            }
            assertEquals(ref.names().stream().filter(n -> n.startsWith("grad.")).count(), errors.size() - 2,
                    "every reference gradient was compared");
        }
        return errors;
    }

    private static double error(double[] expected, double[] actual, String what) {
        for (int i = 0; i < actual.length; i++) assertTrue(Double.isFinite(actual[i]), what + ": element " + i + " is " + actual[i]);
        return RelativeError.of(expected, actual);
    }

    static Batch batchOf(SafetensorsFile ref) {
        Tensor ids = ref.tensor("input_ids");
        int b = (int) ids.dim(0), t = (int) ids.dim(1);
        int[] id = new int[b * t];
        int[] pos = new int[b * t];
        long[] labels = ref.tensor("labels").toLongArray();
        long[] mask = ref.tensor("attention_mask").toLongArray();
        boolean padded = false;
        boolean[] keyMask = new boolean[b * t];
        for (int i = 0; i < id.length; i++) {
            id[i] = (int) ids.getLong(i);
            pos[i] = i % t;
            keyMask[i] = mask[i] != 0;
            padded |= !keyMask[i];
        }
        return new Batch(b, t, id, pos, labels, null, padded ? keyMask : null);
    }

    static void assertClose(double[] expected, double[] actual, String what) {
        RelativeError.assertClose(expected, actual, TOL, what);
    }
}
