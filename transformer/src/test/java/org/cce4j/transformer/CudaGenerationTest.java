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

/**
 * Generation on the CUDA backend: the KV-cache logits against the same backend's full forward at every
 * step (KvCacheTest's check) in f32 and bf16, with LoRA too, and greedy ids and step logits against
 * transformers in f32 (GenerateReferenceTest's fixtures, when they exist).
 * <p>
 * f32: 1e-5, as on the CPU (different summation orders). bf16: 2e-2, as for packed rows against their
 * documents run alone (CudaModelTest): the decode kernel sums P·V in f32 where the tensor-core prefill
 * rounds P to bf16, and cuBLAS picks other kernels for one row than for twenty.
 */
@Tag("gpu")
class CudaGenerationTest {

    static Stream<Arguments> cases() throws Exception {
        List<Arguments> args = new ArrayList<>();
        for (String name : HfReferenceTest.fixtures().toList()) {
            args.add(Arguments.of(name, DType.F32, 1e-5));
            args.add(Arguments.of(name, DType.BF16, 2e-2));
        }
        return args.stream();
    }

    static Stream<Arguments> loraCases() {
        List<Arguments> args = new ArrayList<>();
        for (String name : List.of("llama", "gemma2", "qwen3")) {
            args.add(Arguments.of(name, DType.F32, 1e-5));
            args.add(Arguments.of(name, DType.BF16, 2e-2));
        }
        return args.stream();
    }

    private static Backend cuda(DType dtype) {
        GpuAvailability.require();
        return Backends.create(new Device.Cuda(0), dtype);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void cachedLogitsEqualTheFullForward(String name, DType dtype, double tol) throws Exception {
        try (KvCacheTest.Loaded m = KvCacheTest.Loaded.of(name, cuda(dtype))) {
            for (int prefill : new int[] {1, 7}) KvCacheTest.check(m.model(), KvCacheTest.tokens(97, 5), prefill, tol, name + " " + dtype.shortName());
        }
    }

    @ParameterizedTest(name = "{0} {1} with LoRA")
    @MethodSource("loraCases")
    void cachedLogitsWithLoraEqualTheFullForward(String name, DType dtype, double tol) throws Exception {
        try (KvCacheTest.Loaded m = KvCacheTest.Loaded.of(name, cuda(dtype))) {
            KvCacheTest.attachRandomLora(m.model(), 0.0);
            KvCacheTest.check(m.model(), KvCacheTest.tokens(97, 6), 3, tol, name + " " + dtype.shortName() + " with LoRA");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.cce4j.transformer.GenerateReferenceTest#fixtures")
    void greedyIdsAndStepLogitsEqualTransformersInF32(String name) throws Exception {
        GenerateReferenceTest.assumeFixture(name);
        GenerateReferenceTest.check(name, cuda(DType.F32), 1e-4, true);
    }
}
