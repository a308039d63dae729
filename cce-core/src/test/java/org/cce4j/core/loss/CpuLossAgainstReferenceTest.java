package org.cce4j.core.loss;

import org.cce4j.core.loss.cpu.CpuBaselineCrossEntropy;
import org.cce4j.core.loss.cpu.CpuCutCrossEntropy;
import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuKernels;
import org.cce4j.core.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Every CPU implementation (cce, cce-exact, baseline) with both kernel sets (Vector API and scalar)
 * against the float64 reference, option by option: loss, token losses, lse, dE, dC and dBias
 * within 1e-4 relative error (what f32 accumulation gives, with margin: observed errors are ~1e-6).
 */
class CpuLossAgainstReferenceTest {
    private static final double TOL = 1e-4;

    static Stream<Arguments> implementations() {
        List<Arguments> out = new ArrayList<>();
        List<CpuKernels> kernels = new ArrayList<>(List.of(CpuKernelSelector.best()));
        if (CpuKernelSelector.simdAvailable()) kernels.add(CpuKernelSelector.scalar());
        for (CpuKernels k : kernels) {
            out.add(Arguments.of("cce/" + k.description(), new CpuCutCrossEntropy(false, k)));
            out.add(Arguments.of("cce-exact/" + k.description(), new CpuCutCrossEntropy(true, k)));
            out.add(Arguments.of("baseline/" + k.description(), new CpuBaselineCrossEntropy(k)));
        }
        return out.stream();
    }

    private static CceOptions base() {
        return CceOptions.defaults();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void plainMeanWithRaggedVocabularyAndOddDimension(String name, LinearCrossEntropy impl) {
        new LossCase(1, new long[] {50}, 300, 37, DType.F32, 9, 0, false, false, base()).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void ignoredTokensBiasAndSum(String name, LinearCrossEntropy impl) {
        new LossCase(2, new long[] {70}, 260, 48, DType.F32, 9, 0.3, true, false,
                base().withReduction(Reduction.SUM)).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void softcapWithPerTokenUpstream(String name, LinearCrossEntropy impl) {
        new LossCase(3, new long[] {45}, 333, 33, DType.F32, 400, 0.2, false, false,
                base().withSoftcap(5f).withReduction(Reduction.NONE)).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void shiftAlongSequencesOfABatch(String name, LinearCrossEntropy impl) {
        new LossCase(4, new long[] {3, 17}, 129, 20, DType.F32, 9, 0.2, false, false,
                base().withShift(1).withIgnoreIndex(-1)).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void labelSmoothingZLossAndTokenWeights(String name, LinearCrossEntropy impl) {
        new LossCase(5, new long[] {64}, 500, 40, DType.F32, 9, 0.1, true, true,
                base().withLabelSmoothing(0.1f).withZLossWeight(1e-2f).withSoftcap(30f)).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void singleRow(String name, LinearCrossEntropy impl) {
        new LossCase(6, new long[] {1}, 77, 5, DType.F32, 9, 0, true, false, base()).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void everyTokenIgnoredGivesZeroLossAndZeroGradients(String name, LinearCrossEntropy impl) {
        new LossCase(7, new long[] {20}, 50, 16, DType.F32, 9, 1.0, true, false, base()).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void lseOfIgnoredRowsWhenAskedFor(String name, LinearCrossEntropy impl) {
        new LossCase(8, new long[] {40}, 200, 24, DType.F32, 9, 0.5, false, false,
                base().withReturnLse(true)).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void bf16AndF16Inputs(String name, LinearCrossEntropy impl) {
        new LossCase(9, new long[] {33}, 140, 64, DType.BF16, 9, 0.1, true, false, base()).check(impl, TOL);
        new LossCase(10, new long[] {33}, 140, 64, DType.F16, 9, 0.1, false, false, base()).check(impl, TOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void manyRowAndVocabularyGroups(String name, LinearCrossEntropy impl) {
        new LossCase(11, new long[] {2, 301}, 1500, 72, DType.F32, 16, 0.1, true, false,
                base().withShift(1).withSoftcap(15f)).check(impl, TOL);
    }
}
