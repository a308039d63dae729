package org.cce4j.transformer;

import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the CUDA backend against every transformers reference (logits, loss, every
 * parameter gradient), also with recomputation, and packed rows against their documents run alone.
 * <p>
 * f32 mode: within 1e-4, like the CPU. bf16 mode: every tensor within 2e-2, or within 1.25× the worst
 * error that bf16 storage alone causes on the same model where that is larger. Rounding every weight
 * and activation to bf16 while doing all arithmetic in f32 ({@link Bf16StorageBackend} on the CPU)
 * already lands at 2.2-6.3e-2 on the q/k projection gradients of these tiny models (dS = P∘(dP − δ)
 * cancels, and a k bias gradient is a sum of dk over keys that is nearly zero), so 2e-2 flat cannot be
 * met by any implementation that stores bf16. Which tensor is worst moves with the rounding (per tensor,
 * ours and the emulation differ by up to 2× either way), hence the model-wide yardstick.
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

    private static Backend cuda(DType dtype) {
        GpuAvailability.require();
        return Backends.create(new Device.Cuda(0), dtype);
    }

    private static void check(String name, DType dtype, boolean recompute) throws Exception {
        Backend be = cuda(dtype);
        if (dtype == DType.F32) {
            HfReferenceTest.check(name, be, recompute, F32_TOL);
            return;
        }
        double storageWorst = HfReferenceTest.errors(name, new Bf16StorageBackend(), false).values().stream()
                .mapToDouble(Double::doubleValue).max().orElseThrow();
        double tol = Math.max(BF16_TOL, BF16_STORAGE_FACTOR * storageWorst);
        HfReferenceTest.errors(name, be, recompute).forEach((tensor, err) -> assertTrue(err <= tol,
                name + " bf16 " + tensor + ": relative error " + err + " > " + tol + " (bf16 storage alone: worst " + storageWorst + ")"));
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
