package org.cce4j.core.loss.cpu;

import org.cce4j.core.cpu.CpuKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Loading blocks of E and C into scratch and computing one logit tile, shared by the forward
 * and the backward of the CPU loss (the backward recomputes exactly the forward's tiles).
 * <pre>
 *   zT[j][i] = softcap( Σ_d C[v_j][d] · E[r_i][d] + b[v_j] )     j < vbPad (vocab), i < nPad (rows)
 *   A = cRows [vbPad × dimPad]  (broadcast),  B = eT micro-panels [dimPad × nr]  (vector loads)
 * </pre>
 * Padding (rows past the group, vocabulary past the block, D up to a multiple of nr) is zero in
 * the operands, so padded logits are 0 (or the bias) and never reach a result.
 */
final class LogitTiles {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private LogitTiles() {}

    /** Copies rows {@code rows[from .. from+n)} of E into eRows and eT (zero padding to nPad × dimPad). */
    static void loadRowGroup(MemorySegment e, int dim, int dimPad, int nr, int[] rows, int from, int n, int nPad,
                             float[] eRows, float[] eT) {
        for (int i = 0; i < nPad; i++) {
            int base = i * dimPad;
            if (i < n) {
                MemorySegment.copy(e, F32, (long) rows[from + i] * dim * 4, eRows, base, dim);
                Arrays.fill(eRows, base + dim, base + dimPad, 0f);
            } else {
                Arrays.fill(eRows, base, base + dimPad, 0f);
            }
        }
        transposeInto(eRows, nPad, dimPad, nr, eT);
    }

    /** eT[p][d][ii] = eRows[p*nr + ii][d]: Eᵀ as micro-panels of nr rows. */
    static void transposeInto(float[] eRows, int nPad, int dimPad, int nr, float[] eT) {
        for (int p = 0; p < nPad / nr; p++) {
            int panel = p * dimPad * nr;
            for (int ii = 0; ii < nr; ii++) {
                int src = (p * nr + ii) * dimPad;
                for (int d = 0; d < dimPad; d++) {
                    eT[panel + d * nr + ii] = eRows[src + d];
                }
            }
        }
    }

    /**
     * Copies the C rows of block positions [p0, p0+vbw) into cRows, through {@code order} when the
     * vocabulary is sorted (order == null: position = vocabulary index).
     */
    static void loadVocabBlock(MemorySegment c, int dim, int dimPad, int[] order, int p0, int vbw, int vbPad, float[] cRows) {
        if (order == null && dim == dimPad) {
            MemorySegment.copy(c, F32, (long) p0 * dim * 4, cRows, 0, vbw * dim);
        } else {
            for (int j = 0; j < vbw; j++) {
                int v = order == null ? p0 + j : order[p0 + j];
                MemorySegment.copy(c, F32, (long) v * dim * 4, cRows, j * dimPad, dim);
                Arrays.fill(cRows, j * dimPad + dim, (j + 1) * dimPad, 0f);
            }
        }
        Arrays.fill(cRows, vbw * dimPad, vbPad * dimPad, 0f);
    }

    /** zT = softcap(cRows · eTᵀ + bias), [vbPad × nPad]; rows past vbw are 0. */
    static void computeLogits(CpuKernels k, int nr, float[] cRows, float[] eT, int dimPad, int vbw, int vbPad, int nPad,
                              float[] bias, int[] order, int p0, float softcap, float[] zT) {
        for (int j = 0; j < vbPad; j++) {
            float b = j < vbw && bias != null ? bias[order == null ? p0 + j : order[p0 + j]] : 0f;
            Arrays.fill(zT, j * nPad, (j + 1) * nPad, b);
        }
        for (int p = 0; p < nPad / nr; p++) {
            int bOff = p * dimPad * nr;
            for (int j = 0; j < vbPad; j += CpuKernels.MR) {
                k.gemmTile(dimPad, cRows, j * dimPad, dimPad, 1, eT, bOff, nr, zT, j * nPad + p * nr, nPad);
            }
        }
        if (softcap > 0) {
            k.softcap(zT, 0, vbw * nPad, softcap);
        }
    }


}
