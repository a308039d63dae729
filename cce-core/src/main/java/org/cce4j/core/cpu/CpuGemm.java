package org.cce4j.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Single-precision general matrix multiply on host memory, C = β·C + op(A)·op(B) with β 0 or 1,
 * in the BLAS sgemm convention (row-major, leading dimensions in elements):
 * <pre>
 *   op(A)(i, p) = transA ? a[p*lda + i] : a[i*lda + p]        i < m, p < k
 *   op(B)(p, j) = transB ? b[j*ldb + p] : b[p*ldb + j]        j < n
 * </pre>
 * Blocked the GotoBLAS way: each task owns a 128 × 256 block of C and walks k in steps of 256,
 * packing its A block into rows [128][256] and its B block into micro-panels [256/nr][256][nr] (so
 * any transposition costs one copy), and calls the 4 × nr micro-kernel of {@link CpuKernels}.
 * Tasks (blocks of C) run in parallel; each C element is summed over k in a fixed order.
 */
public final class CpuGemm {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final int MC = 128;
    static final int NC = 256;
    static final int KC = 256;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][]);

    private CpuGemm() {}

    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        gemm(CpuKernelSelector.best(), transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    public static void gemm(CpuKernels kernels, boolean transA, boolean transB, int m, int n, int k,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        if (beta != 0f && beta != 1f) throw new IllegalArgumentException("beta must be 0 or 1, got " + beta);
        if (m == 0 || n == 0) return;
        int mBlocks = (m + MC - 1) / MC;
        int nBlocks = (n + NC - 1) / NC;
        CpuParallel.forEach(mBlocks * nBlocks, t -> block(kernels, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb,
                beta, c, cOff, ldc, (t / nBlocks) * MC, (t % nBlocks) * NC));
    }

    private static void block(CpuKernels kr, boolean transA, boolean transB, int m, int n, int k,
                              MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                              float beta, MemorySegment c, long cOff, int ldc, int i0, int j0) {
        int nr = kr.nr();
        int mb = Math.min(MC, m - i0), nb = Math.min(NC, n - j0);
        int mPad = Blocks.roundUp(mb, CpuKernels.MR), nPad = Blocks.roundUp(nb, nr);
        float[][] s = SCRATCH.get();
        float[] aPack = s[0] = Blocks.ensure(s[0], mPad * KC);
        float[] bPack = s[1] = Blocks.ensure(s[1], KC * nPad);
        float[] cTile = s[2] = Blocks.ensure(s[2], mPad * nPad);
        Arrays.fill(cTile, 0, mPad * nPad, 0f);
        if (beta == 1f) {
            for (int i = 0; i < mb; i++) {
                MemorySegment.copy(c, F32, 4 * (cOff + (long) (i0 + i) * ldc + j0), cTile, i * nPad, nb);
            }
        }
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kb = Math.min(KC, k - p0);
            packA(transA, a, aOff, lda, i0, mb, mPad, p0, kb, aPack);
            packB(transB, b, bOff, ldb, j0, nb, nPad, nr, p0, kb, bPack);
            for (int jp = 0; jp < nPad; jp += nr) {
                int panel = jp * kb;
                for (int ip = 0; ip < mPad; ip += CpuKernels.MR) {
                    kr.gemmTile(kb, aPack, ip * kb, kb, 1, bPack, panel, nr, cTile, ip * nPad + jp, nPad);
                }
            }
        }
        for (int i = 0; i < mb; i++) {
            MemorySegment.copy(cTile, i * nPad, c, F32, 4 * (cOff + (long) (i0 + i) * ldc + j0), nb);
        }
    }

    /** aPack[i][p] = op(A)(i0+i, p0+p), rows of length kb, zero rows up to mPad. */
    private static void packA(boolean transA, MemorySegment a, long aOff, int lda, int i0, int mb, int mPad,
                              int p0, int kb, float[] aPack) {
        if (!transA) {
            for (int i = 0; i < mb; i++) {
                MemorySegment.copy(a, F32, 4 * (aOff + (long) (i0 + i) * lda + p0), aPack, i * kb, kb);
            }
        } else {
            for (int p = 0; p < kb; p++) {
                long row = 4 * (aOff + (long) (p0 + p) * lda + i0);
                for (int i = 0; i < mb; i++) aPack[i * kb + p] = a.get(F32, row + 4L * i);
            }
        }
        Arrays.fill(aPack, mb * kb, mPad * kb, 0f);
    }

    /** bPack[jp][p][jj] = op(B)(p0+p, j0+jp+jj): micro-panels of nr columns, zero columns up to nPad. */
    private static void packB(boolean transB, MemorySegment b, long bOff, int ldb, int j0, int nb, int nPad, int nr,
                              int p0, int kb, float[] bPack) {
        if (!transB) {
            float[] row = new float[nPad];
            for (int p = 0; p < kb; p++) {
                MemorySegment.copy(b, F32, 4 * (bOff + (long) (p0 + p) * ldb + j0), row, 0, nb);
                for (int jp = 0; jp < nPad; jp += nr) {
                    System.arraycopy(row, jp, bPack, jp * kb + p * nr, nr);
                }
            }
        } else {
            for (int j = 0; j < nb; j++) {
                long src = 4 * (bOff + (long) (j0 + j) * ldb + p0);
                int panel = (j / nr) * nr * kb, jj = j % nr;
                for (int p = 0; p < kb; p++) bPack[panel + p * nr + jj] = b.get(F32, src + 4L * p);
            }
            for (int j = nb; j < nPad; j++) {
                int panel = (j / nr) * nr * kb, jj = j % nr;
                for (int p = 0; p < kb; p++) bPack[panel + p * nr + jj] = 0f;
            }
        }
    }
}
