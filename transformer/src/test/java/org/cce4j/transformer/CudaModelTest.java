package org.cce4j.transformer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the CUDA backend against every transformers reference (logits, loss, every
 * parameter gradient), also with recomputation, and packed rows against their documents run alone.
 * <p>
 * f32 mode: within 1e-4, like the CPU. bf16 mode: every tensor within 2e-2, or, where larger, within
 * the worst error of either yardstick on the same model: transformers itself run in bf16
 * (hf-reference/transformers-bf16.jsonl, from tools/reference/hf_bf16_error.py on the GPU machine), or
 * 1.25× bf16 storage alone ({@link Bf16StorageBackend}: every weight and activation rounded to bf16,
 * all arithmetic in f32). Both land at 2-8e-2 on the q/k projection and q-norm gradients of these tiny
 * models (dS = P∘(dP − δ) cancels; a k bias gradient is a sum of dk over keys that is nearly zero), so
 * 2e-2 flat cannot be met by any implementation that stores bf16. Which tensor is worst moves with the
 * rounding (per tensor, ours and the emulation differ by up to 2× either way), hence model-wide yardsticks.
 * With transformers' default initialization (default-init/, std 0.02, the scale of real checkpoints)
 * seven of nine fixtures are within 2e-2 flat (worst 1.8e-2); gemma2 lands at 2.01e-2 (emulation
 * 2.02e-2) and gemma3 at 2.8e-2 (emulation 3.1e-2, transformers in bf16 2.8e-2), each on one gradient.
 */
@Tag("gpu")
class CudaModelTest {
    static final double F32_TOL = 1e-4, BF16_TOL = 2e-2, BF16_STORAGE_FACTOR = 1.25;

    static Stream<Arguments> fixturesAndModes() throws Exception {
        List<Arguments> args = new ArrayList<>();
        for (String name : HfReferenceTest.fixtures().toList()) {
            args.add(Arguments.of(name, DType.F32));
            args.add(Arguments.of(name, DType.BF16));
        }
        return args.stream();
    }

    /**
     * Our attention kernels, not cuDNN's (CudaBackend.useCudnnAttention(false)): the bf16 yardstick is
     * calibrated on our rounding. With cuDNN's attention (measured on the H200, 2026-12-02) 122 of 124
     * checks pass and one gradient lands 4% above the yardstick: k_proj.bias of llama3_tied_bf16_sharded
     * (2.16e-2 against 2.07e-2), which is zero in exact arithmetic (a bias on k shifts every score of a
     * row by the same amount), so both sides compare rounding noise there; CudaBackendTest checks
     * cuDNN's attention itself against the CPU's.
     */
    private static Backend cuda(DType dtype) {
        GpuAvailability.require();
        Backend be = Backends.create(new Device.Cuda(0), dtype);
        if (be instanceof org.cce4j.transformer.backend.CudaBackend c) c.useCudnnAttention(false);
        return be;
    }

    private static void check(String name, DType dtype, boolean recompute) throws Exception {
        Backend be = cuda(dtype);
        if (dtype == DType.F32) {
            HfReferenceTest.check(name, be, recompute, F32_TOL);
            return;
        }
        double storageWorst = HfReferenceTest.errors(name, new Bf16StorageBackend(), false).values().stream()
                .mapToDouble(Double::doubleValue).max().orElseThrow();
        double transformersWorst = transformersBf16Worst(name);
        double tol = Math.max(BF16_TOL, Math.max(BF16_STORAGE_FACTOR * storageWorst, transformersWorst));
        java.util.Map<String, Double> errors = HfReferenceTest.errors(name, be, recompute);
        java.util.Map.Entry<String, Double> worst = errors.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).orElseThrow();
        System.out.printf(java.util.Locale.ROOT, "bf16 %s%s: worst %s %.3e (logits %.3e, loss %.3e; tolerance %.3e, storage %.3e, transformers %.3e)%n",
                name, recompute ? " recompute" : "", worst.getKey(), worst.getValue(), errors.get("logits"), errors.get("loss"),
                tol, storageWorst, transformersWorst);
        errors.forEach((tensor, err) -> assertTrue(err <= tol,
                name + " bf16 " + tensor + ": relative error " + err + " > " + tol + " (bf16 storage alone: worst " + storageWorst
                        + ", transformers in bf16: worst " + transformersWorst + ")"));
    }

    /** The worst of logits, loss and gradient errors transformers made in bf16 on fixture {@code name}. */
    static double transformersBf16Worst(String name) throws IOException {
        java.nio.file.Path folder = HfReferenceTest.ROOT.resolve(name);
        String fixture = folder.getFileName().toString();
        for (String line : Files.readAllLines(folder.getParent().resolve("transformers-bf16.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.get("fixture").asText().equals(fixture)) {
                return Math.max(n.get("worst_grad").asDouble(), Math.max(n.get("logits").asDouble(), n.get("loss").asDouble()));
            }
        }
        throw new IllegalStateException("transformers-bf16.jsonl has no line for " + name);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("fixturesAndModes")
    void matchesTransformers(String name, DType dtype) throws Exception {
        check(name, dtype, false);
    }

    @ParameterizedTest(name = "{0} {1} (recompute)")
    @MethodSource("fixturesAndModes")
    void recomputationMatchesTransformers(String name, DType dtype) throws Exception {
        check(name, dtype, true);
    }

    static Stream<Arguments> packedCases() {
        List<Arguments> args = new ArrayList<>();
        for (String name : List.of("llama", "gemma2", "qwen3")) {
            args.add(Arguments.of(name, DType.F32, 1e-5f));
            // bf16: the packed and the separate runs round the same values, but cuBLAS may pick other
            // kernels (other summation orders) for other row counts: a bf16 ulp here and there
            args.add(Arguments.of(name, DType.BF16, 2e-2f));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("packedCases")
    void aPackedRowEqualsItsDocumentsRunAlone(String name, DType dtype, float tol) throws Exception {
        PackedSequencesTest.check(name, cuda(dtype), tol);
    }
}
