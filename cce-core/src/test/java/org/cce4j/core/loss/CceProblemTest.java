package org.cce4j.core.loss;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad inputs are refused with one line that names the tensor and the rule; good ones map rows to targets. */
class CceProblemTest {

    private static String refusal(Tensor e, Tensor c, Tensor t, CceOptions o) {
        InvalidInputException ex = assertThrows(InvalidInputException.class, () -> CceProblem.of(CceInputs.of(e, c, t), o));
        assertTrue(!ex.getMessage().contains("\n"), "one line: " + ex.getMessage());
        return ex.getMessage();
    }

    @Test
    void refusesShapeMismatchesEmptyTensorsAndBadTargets() {
        CceOptions o = CceOptions.defaults();
        try (Tensor e = Tensor.zeros(DType.F32, 4, 8); Tensor c = Tensor.zeros(DType.F32, 10, 8);
             Tensor cBad = Tensor.zeros(DType.F32, 10, 7); Tensor t = Tensor.of(new long[] {1, 2, -100, 9}, 4);
             Tensor tShort = Tensor.of(new long[] {1, 2, 3}, 3); Tensor tOut = Tensor.of(new long[] {1, 10, 0, 0}, 4);
             Tensor tNeg = Tensor.of(new long[] {1, -5, 0, 0}, 4); Tensor tFloat = Tensor.of(new float[] {1, 2, 3, 4}, 4);
             Tensor empty = Tensor.zeros(DType.F32, 0, 8); Tensor tEmpty = Tensor.zeros(DType.I64, 0);
             Tensor e1 = Tensor.zeros(DType.F32, 8)) {
            assertTrue(refusal(e, cBad, t, o).contains("disagree on D"));
            assertTrue(refusal(e, c, tShort, o).contains("targets must have shape [4]"));
            assertEquals("target 10 at position 1 is outside [0, 10) and is not the ignore index -100", refusal(e, c, tOut, o));
            assertTrue(refusal(e, c, tNeg, o).contains("target -5 at position 1"));
            assertTrue(refusal(e, c, tFloat, o).contains("int32 or int64"));
            assertTrue(refusal(empty, c, tEmpty, o).contains("hold no rows"));
            assertTrue(refusal(e1, c, t, o).contains("shape [..., D]"));
            assertTrue(refusal(e, c, t, o.withShift(4)).contains("leaves no targets"));
        }
    }

    @Test
    void shiftMapsRowsToTheNextTargetWithinEachSequence() {
        try (Tensor e = Tensor.zeros(DType.F32, 2, 3, 4); Tensor c = Tensor.zeros(DType.F32, 10, 4);
             Tensor t = Tensor.of(new long[] {1, 2, 3, 4, -100, 6}, 2, 3)) {
            CceProblem p = CceProblem.of(CceInputs.of(e, c, t), CceOptions.defaults().withShift(1));
            assertArrayEquals(new int[] {2, 3, -1, -1, 6, -1}, p.targetOfRow);
            assertArrayEquals(new int[] {0, 1, 4}, p.countingRows);
            assertEquals(3.0, p.weightSum);
        }
    }
}
