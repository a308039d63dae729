package org.cce4j.core.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector exp and tanh against Math's on a dense sweep: within 2 ulp (exp) and 4 ulp or 1e-7
 * absolute (tanh); exp is exactly 0 below the f32 range and exact at 0.
 */
class VectorMathTest {
    @Test
    void expAndTanhAreAccurate() {
        Assumptions.assumeTrue(CpuKernelSelector.simdAvailable(), "the Vector API module is not in this JVM");
        var species = FloatVector.SPECIES_PREFERRED;
        int l = species.length();
        float[] in = new float[l], out = new float[l];
        double worstExp = 0, worstTanh = 0;
        for (float start = -90f; start < 88.3f; start += 0.00731f * l) {
            for (int i = 0; i < l; i++) in[i] = start + 0.00731f * i;
            VectorKernels.exp(FloatVector.fromArray(species, in, 0)).intoArray(out, 0);
            for (int i = 0; i < l; i++) {
                double ref = Math.exp(in[i]);
                if (in[i] < -87.33654f) {
                    assertEquals(0f, out[i], "exp below the range");
                } else if (in[i] <= 88.37f && ref > 1.2e-38) {
                    worstExp = Math.max(worstExp, Math.abs(out[i] - ref) / Math.ulp((float) ref));
                }
            }
            for (int i = 0; i < l; i++) in[i] = (start + 0.00731f * i) / 8;
            VectorKernels.tanh(FloatVector.fromArray(species, in, 0)).intoArray(out, 0);
            for (int i = 0; i < l; i++) {
                double ref = Math.tanh(in[i]);
                double err = Math.abs(out[i] - ref);
                worstTanh = Math.max(worstTanh, Math.min(err / Math.ulp((float) ref), err / 1e-7 * 4));
            }
        }
        assertTrue(worstExp <= 2, "exp error " + worstExp + " ulp");
        assertTrue(worstTanh <= 4, "tanh error " + worstTanh + " ulp");
        in[0] = 0f;
        VectorKernels.exp(FloatVector.fromArray(species, in, 0)).intoArray(out, 0);
        assertEquals(1f, out[0]);
    }
}
