package org.cce4j.core.loss;

import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuKernels;
import org.cce4j.core.loss.cpu.CpuBaselineCrossEntropy;
import org.cce4j.core.loss.cpu.CpuCutCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token accuracy inside the CPU losses (cce, cce-exact, baseline; Vector API and scalar kernels)
 * against the float64 reference: per-row correctness, its count and the accuracy, exactly, on
 * problems with exact ties (the first maximal index wins), softcap, bias, ignored rows, shift and
 * several row and vocabulary groups (see {@link AccuracyCase}); and asking for accuracy changes
 * no other output by a single bit.
 */
class AccuracyAgainstReferenceTest {

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

    private static List<AccuracyCase> cases;

    /** The cases every implementation runs, on the CPU here and on the GPU in CudaLossAgainstReferenceTest (built once). */
    static synchronized List<AccuracyCase> cases() {
        if (cases == null) cases = buildCases();
        return cases;
    }

    private static List<AccuracyCase> buildCases() {
        CceOptions base = CceOptions.defaults();
        return List.of(
                new AccuracyCase(31, new long[] {50}, 300, 37, DType.F32, 0.2, false, false, base),
                new AccuracyCase(32, new long[] {45}, 333, 33, DType.F32, 0.1, true, false,
                        base.withSoftcap(30f).withReduction(Reduction.NONE)),
                new AccuracyCase(33, new long[] {3, 17}, 129, 20, DType.F32, 0.2, false, false,
                        base.withShift(1).withIgnoreIndex(-1)),
                new AccuracyCase(34, new long[] {2, 301}, 1500, 72, DType.F32, 0.1, true, false,
                        base.withShift(1).withSoftcap(15f)),
                new AccuracyCase(35, new long[] {64}, 500, 40, DType.F32, 0.1, true, true,
                        base.withLabelSmoothing(0.1f).withZLossWeight(1e-2f).withReturnLse(true)),
                new AccuracyCase(36, new long[] {33}, 140, 64, DType.BF16, 0.1, true, false, base),
                new AccuracyCase(37, new long[] {130}, 700, 136, DType.F16, 0.1, false, false, base.withShift(1)),
                // odd D: on the GPU the SIMT forward for bf16 too
                new AccuracyCase(39, new long[] {77}, 611, 45, DType.BF16, 0.2, true, true, base.withSoftcap(20f)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void correctRowsTheirCountAndTheAccuracyMatchTheReference(String name, LinearCrossEntropy impl) {
        for (AccuracyCase ac : cases()) {
            CceInputs in = ac.lc.inputs();
            try (CceForward f = impl.forward(in, ac.options())) {
                assertEquals(DType.I32, f.correct().dtype());
                assertArrayEquals(f.tokenLoss().shape(), f.correct().shape(), "correct has the leading shape of E");
                ac.assertMatches(f.correct().toLongArray(), f.correctCount(), f.accuracy(), name + " " + ac.options());
            } finally {
                LossCase.close(in);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void askingForAccuracyChangesNoOtherOutput(String name, LinearCrossEntropy impl) {
        AccuracyCase ac = new AccuracyCase(34, new long[] {2, 301}, 1500, 72, DType.F32, 0.1, true, false,
                CceOptions.defaults().withShift(1).withSoftcap(15f));
        CceInputs in = ac.lc.inputs();
        CceOptions without = ac.options().withAccuracy(false);
        try (CceForward on = impl.forward(in, ac.options()); CceForward off = impl.forward(in, without);
             CceGradients gOn = impl.backward(on, 1f); CceGradients gOff = impl.backward(off, 1f)) {
            assertEquals(Float.floatToIntBits(off.lossValue()), Float.floatToIntBits(on.lossValue()));
            assertArrayEquals(off.tokenLoss().toFloatArray(), on.tokenLoss().toFloatArray());
            assertArrayEquals(off.lse().toFloatArray(), on.lse().toFloatArray());
            assertArrayEquals(gOff.dEmbeddings().toFloatArray(), gOn.dEmbeddings().toFloatArray());
            assertArrayEquals(gOff.dClassifier().toFloatArray(), gOn.dClassifier().toFloatArray());
            assertArrayEquals(gOff.dBias().toFloatArray(), gOn.dBias().toFloatArray());
            IllegalStateException e = assertThrows(IllegalStateException.class, off::correct);
            assertTrue(e.getMessage().contains("withAccuracy(true)"), e.getMessage());
            assertThrows(IllegalStateException.class, off::correctCount);
        } finally {
            LossCase.close(in);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void withNoRowThatCountsNothingIsCorrectAndTheAccuracyIsNaN(String name, LinearCrossEntropy impl) {
        LossCase lc = new LossCase(38, new long[] {20}, 50, 16, DType.F32, 9, 1.0, false, false,
                CceOptions.defaults().withAccuracy(true));
        CceInputs in = lc.inputs();
        try (CceForward f = impl.forward(in, lc.options)) {
            assertArrayEquals(new long[20], f.correct().toLongArray());
            assertEquals(0, f.correctCount());
            assertTrue(Double.isNaN(f.accuracy()), "accuracy of no rows: " + f.accuracy());
        } finally {
            LossCase.close(in);
        }
        assertEquals(0, lc.reference().correctCount, "no row counts in this case");
    }
}
