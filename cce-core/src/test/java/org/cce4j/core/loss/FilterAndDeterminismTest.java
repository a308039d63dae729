package org.cce4j.core.loss;

import org.cce4j.core.loss.cpu.CpuCutCrossEntropy;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What gradient filtering promises, and what the schedule promises. A strip is skipped only when
 * every |q| = |softmax − onehot| in it is below eps, so each skipped term g·C is at most
 * eps·scale·|C|: |dE_cce − dE_exact|[i][k] ≤ eps·scale_i·Σ_j |C[j][k]| and
 * |dC_cce − dC_exact|[j][k] ≤ eps·Σ_i scale_i·|E[i][k]|. The forward is never filtered. And the
 * same call gives the same bits twice, whatever the threads do.
 */
class FilterAndDeterminismTest {

    @Test
    void filteredGradientsStayWithinTheFilterBoundAndSomethingIsSkipped() {
        float eps = 1e-3f;
        // peaked softmax (large logits): most of each row's probability sits on a few entries
        LossCase lc = new LossCase(21, new long[] {96}, 700, 32, DType.F32, 400, 0.05, false, false,
                CceOptions.defaults().withFilterEps(eps).withReduction(Reduction.SUM));
        CceInputs in = lc.inputs();
        try (CceForward fe = new CpuCutCrossEntropy(true).forward(in, lc.options);
             CceForward ff = new CpuCutCrossEntropy(false).forward(in, lc.options);
             CceGradients ge = new CpuCutCrossEntropy(true).backward(fe, 1f);
             CceGradients gf = new CpuCutCrossEntropy(false).backward(ff, 1f)) {
            assertEquals(fe.lossValue(), ff.lossValue(), "the forward is never filtered");
            double[] dEe = ge.dEmbeddings().toDoubleArray(), dEf = gf.dEmbeddings().toDoubleArray();
            double[] dCe = ge.dClassifier().toDoubleArray(), dCf = gf.dClassifier().toDoubleArray();
            int d = lc.d;
            double[] colAbsC = new double[d], colAbsE = new double[d];
            for (double[] row : lc.c) for (int k = 0; k < d; k++) colAbsC[k] += Math.abs(row[k]);
            for (double[] row : lc.e) for (int k = 0; k < d; k++) colAbsE[k] += Math.abs(row[k]);
            int differing = 0;
            for (int i = 0; i < lc.n; i++) {
                for (int k = 0; k < d; k++) {
                    double diff = Math.abs(dEe[i * d + k] - dEf[i * d + k]);
                    if (diff > 0) differing++;
                    assertTrue(diff <= eps * colAbsC[k] * (1 + 1e-3) + 1e-5, "dE[" + i + "][" + k + "] off by " + diff);
                }
            }
            for (int j = 0; j < lc.v; j++) {
                for (int k = 0; k < d; k++) {
                    double diff = Math.abs(dCe[j * d + k] - dCf[j * d + k]);
                    if (diff > 0) differing++;
                    assertTrue(diff <= eps * colAbsE[k] * (1 + 1e-3) + 1e-5, "dC[" + j + "][" + k + "] off by " + diff);
                }
            }
            assertTrue(differing > 0, "with eps = 1e-3 and a peaked softmax some strips must have been skipped");
            // and the filtered result is still a good gradient
            LossCase.assertClose(dEe, dEf, 1e-2, "dE filtered vs exact");
        } finally {
            LossCase.close(in);
        }
    }

    @Test
    void sameInputsGiveBitIdenticalResults() {
        LossCase lc = new LossCase(22, new long[] {300}, 900, 40, DType.F32, 9, 0.1, true, false,
                CceOptions.defaults().withSoftcap(20f).withLabelSmoothing(0.1f));
        CceInputs in = lc.inputs();
        CpuCutCrossEntropy impl = new CpuCutCrossEntropy(false);
        try (CceForward a = impl.forward(in, lc.options); CceForward b = impl.forward(in, lc.options);
             CceGradients ga = impl.backward(a, 1f); CceGradients gb = impl.backward(b, 1f)) {
            assertEquals(Float.floatToIntBits(a.lossValue()), Float.floatToIntBits(b.lossValue()));
            assertArrayEquals(a.lse().toFloatArray(), b.lse().toFloatArray());
            assertArrayEquals(ga.dEmbeddings().toFloatArray(), gb.dEmbeddings().toFloatArray());
            assertArrayEquals(ga.dClassifier().toFloatArray(), gb.dClassifier().toFloatArray());
            assertArrayEquals(ga.dBias().toFloatArray(), gb.dBias().toFloatArray());
        } finally {
            LossCase.close(in);
        }
    }

    @Test
    void gradientsAccumulateIntoGivenTensorsAndSkipWhatIsNotAsked() {
        LossCase lc = new LossCase(23, new long[] {50}, 200, 16, DType.F32, 9, 0, false, false, CceOptions.defaults());
        CceInputs in = lc.inputs();
        CpuCutCrossEntropy impl = new CpuCutCrossEntropy(true);
        try (CceForward f = impl.forward(in, lc.options); CceGradients fresh = impl.backward(f, 1f);
             Tensor dC = Tensor.zeros(DType.F32, lc.v, lc.d); Tensor up = Tensor.scalar(1f)) {
            for (long i = 0; i < dC.numel(); i++) dC.setFloat(i, 1f);
            CceGradients into = new CceGradients(null, dC, null);
            impl.backward(f, up, into);
            float[] expected = fresh.dClassifier().toFloatArray();
            float[] got = dC.toFloatArray();
            for (int i = 0; i < got.length; i++) assertEquals(expected[i] + 1f, got[i], 1e-6f, "dC[" + i + "]");
        } finally {
            LossCase.close(in);
        }
    }
}
