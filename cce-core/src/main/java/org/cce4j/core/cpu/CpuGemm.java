package org.cce4j.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Single-precision general matrix multiply on host memory, C = β·C + op(A)·op(B) with β 0 or 1,
 * in the BLAS sgemm convention (row-major, leading dimensions in elements):
 * <pre>
 *   op(A)(i, p) = transA ? a[p*lda + i] : a[i*lda + p]        i < m, p < k
 *   op(B)(p, j) = transB ? b[j*ldb + p] : b[p*ldb + j]        j < n
 * </pre>
 * Blocked the GotoBLAS way. op(B) is packed once per call, by all threads, into micro-panels of nr
 * columns per k block of KC (so any transposition costs one copy, shared by every row block):
 * <pre>
 *   bPack[pBlock][panel][kb][nr]      panel = nr columns of op(B), zero columns up to nPad
 *   aPack[strip][kb][PR]              per task: PR rows of op(A) side by side for each p
 *   cTile[mb][nbPad]                  per task: its block of C, loaded (β = 1) or zeroed, stored once
 * </pre>
 * Tasks own a block of MC rows × a range of panels of C (the range is all of n unless there are
 * too few row blocks to keep every thread busy) and walk k in steps of KC, calling the PR × nr
 * micro-kernel {@link CpuKernels#gemmPanel} with one B panel resident in L1 while the strips of A
 * stream from L2. Each C element is one chain of fused multiply-adds over k in order, starting from
 * β·C, whatever the blocking or the number of threads: the result is the same on every run.
 */
public final class CpuGemm {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final int MC = 16 * CpuKernels.PR;
    static final int KC = 256;

    /** Per thread: [0] A strips, [1] C tile, [2] a row of the source being packed. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][]);
    /** Per calling thread: the packed op(B) of the call in progress. */
    private static final ThreadLocal<float[][]> PACKED_B = ThreadLocal.withInitial(() -> new float[1][]);

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
        int nr = kernels.panelWidth();
        int panels = Blocks.ceilDiv(n, nr), nPad = panels * nr;
        int pBlocks = Math.max(1, Blocks.ceilDiv(k, KC));
        // a call from inside a pool task gets its own buffer: while it waits, its thread may run another task that calls gemm
        float[] bPack;
        if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread) {
            bPack = new float[Math.max(1, k) * nPad];
        } else {
            float[][] holder = PACKED_B.get();
            bPack = holder[0] = Blocks.ensure(holder[0], Math.max(1, k) * nPad);
        }
        if (k > 0) {
            // pack op(B): tasks by (k block, group of panels)
            int panelGroup = Math.max(1, Blocks.ceilDiv(panels, 2 * CpuParallel.threads()));
            int groups = Blocks.ceilDiv(panels, panelGroup);
            CpuParallel.forEach(pBlocks * groups, t -> {
                int pb = t / groups, g = t % groups;
                int p0 = pb * KC, kb = Math.min(KC, k - p0);
                int firstPanel = g * panelGroup, lastPanel = Math.min(panels, firstPanel + panelGroup);
                packB(transB, b, bOff, ldb, n, nr, p0, kb, firstPanel, lastPanel, bPack, p0 * nPad);
            });
        }
        // row blocks of at most MC rows, as even as PR allows; split n too when there are fewer than two per thread
        int mc = rowBlock(m);
        int mBlocks = Blocks.ceilDiv(m, mc);
        int nBlocks = mBlocks >= 2 * CpuParallel.threads() ? 1 : Math.min(panels, Blocks.ceilDiv(2 * CpuParallel.threads(), mBlocks));
        int panelsPerBlock = Blocks.ceilDiv(panels, nBlocks);
        int nTasks = Blocks.ceilDiv(panels, panelsPerBlock);
        CpuParallel.forEach(mBlocks * nTasks, t -> {
            int i0 = (t / nTasks) * mc;
            int firstPanel = (t % nTasks) * panelsPerBlock, lastPanel = Math.min(panels, firstPanel + panelsPerBlock);
            block(kernels, transA, m, n, k, a, aOff, lda, bPack, nPad, beta, c, cOff, ldc, i0, Math.min(mc, m - i0), firstPanel, lastPanel);
        });
    }

    /** Rows per task: at most MC, as even as PR allows, and small enough for two blocks per thread when m permits. */
    static int rowBlock(int m) {
        int mc = Blocks.roundUp(Blocks.ceilDiv(m, Blocks.ceilDiv(m, MC)), CpuKernels.PR);
        if (Blocks.ceilDiv(m, mc) >= 2 * CpuParallel.threads()) return mc;
        return Math.max(CpuKernels.PR, Blocks.roundUp(Blocks.ceilDiv(m, 2 * CpuParallel.threads()), CpuKernels.PR));
    }

    private static void block(CpuKernels kr, boolean transA, int m, int n, int k, MemorySegment a, long aOff, int lda,
                              float[] bPack, int nPad, float beta, MemorySegment c, long cOff, int ldc,
                              int i0, int mb, int firstPanel, int lastPanel) {
        int nr = kr.panelWidth(), pr = CpuKernels.PR;
        int mPad = Blocks.roundUp(mb, pr);
        int j0 = firstPanel * nr, nb = Math.min(n, lastPanel * nr) - j0, nbPad = (lastPanel - firstPanel) * nr;
        float[][] s = SCRATCH.get();
        float[] aPack = s[0] = Blocks.ensure(s[0], mPad * KC);
        float[] cTile = s[1] = Blocks.ensure(s[1], mPad * nbPad);
        if (beta == 1f) {
            for (int i = 0; i < mb; i++) {
                MemorySegment.copy(c, F32, 4 * (cOff + (long) (i0 + i) * ldc + j0), cTile, i * nbPad, nb);
                java.util.Arrays.fill(cTile, i * nbPad + nb, (i + 1) * nbPad, 0f);
            }
            java.util.Arrays.fill(cTile, mb * nbPad, mPad * nbPad, 0f);
        } else {
            java.util.Arrays.fill(cTile, 0, mPad * nbPad, 0f);
        }
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kb = Math.min(KC, k - p0);
            s[2] = packA(transA, a, aOff, lda, i0, mb, mPad, p0, kb, aPack, s[2]);
            int pBase = p0 * nPad;
            for (int panel = firstPanel; panel < lastPanel; panel++) {
                int bo = pBase + panel * kb * nr, co = (panel - firstPanel) * nr;
                for (int ip = 0; ip < mPad; ip += pr) {
                    kr.gemmPanel(kb, aPack, ip * kb, bPack, bo, cTile, ip * nbPad + co, nbPad);
                }
            }
        }
        for (int i = 0; i < mb; i++) {
            MemorySegment.copy(cTile, i * nbPad, c, F32, 4 * (cOff + (long) (i0 + i) * ldc + j0), nb);
        }
    }

    /**
     * aPack[strip][p][ii] = op(A)(i0 + strip*PR + ii, p0 + p): strips of PR rows, zero rows up to mPad.
     * Returns the row buffer (grown when needed) for reuse.
     */
    private static float[] packA(boolean transA, MemorySegment a, long aOff, int lda, int i0, int mb, int mPad,
                                 int p0, int kb, float[] aPack, float[] row) {
        int pr = CpuKernels.PR;
        if (!transA) {
            row = Blocks.ensure(row, kb);
            for (int i = 0; i < mb; i++) {
                MemorySegment.copy(a, F32, 4 * (aOff + (long) (i0 + i) * lda + p0), row, 0, kb);
                int base = (i / pr) * pr * kb + i % pr;
                for (int p = 0; p < kb; p++) aPack[base + p * pr] = row[p];
            }
            for (int i = mb; i < mPad; i++) {
                int base = (i / pr) * pr * kb + i % pr;
                for (int p = 0; p < kb; p++) aPack[base + p * pr] = 0f;
            }
        } else {
            row = Blocks.ensure(row, mPad);
            java.util.Arrays.fill(row, mb, mPad, 0f);
            for (int p = 0; p < kb; p++) {
                MemorySegment.copy(a, F32, 4 * (aOff + (long) (p0 + p) * lda + i0), row, 0, mb);
                for (int strip = 0; strip < mPad; strip += pr) {
                    int at = strip * kb + p * pr;
                    for (int ii = 0; ii < pr; ii++) aPack[at + ii] = row[strip + ii];
                }
            }
        }
        return row;
    }

    /** bPack[base + panel*kb*nr + p*nr + jj] = op(B)(p0 + p, panel*nr + jj) for panels [first, last), zero columns past n. */
    private static void packB(boolean transB, MemorySegment b, long bOff, int ldb, int n, int nr, int p0, int kb,
                              int firstPanel, int lastPanel, float[] bPack, int base) {
        float[][] s = SCRATCH.get();
        int j0 = firstPanel * nr, j1 = Math.min(n, lastPanel * nr), width = lastPanel * nr - j0;
        if (!transB) {
            float[] row = s[2] = Blocks.ensure(s[2], width);
            java.util.Arrays.fill(row, j1 - j0, width, 0f);
            for (int p = 0; p < kb; p++) {
                MemorySegment.copy(b, F32, 4 * (bOff + (long) (p0 + p) * ldb + j0), row, 0, j1 - j0);
                for (int panel = firstPanel; panel < lastPanel; panel++) {
                    System.arraycopy(row, (panel - firstPanel) * nr, bPack, base + panel * kb * nr + p * nr, nr);
                }
            }
        } else {
            float[] row = s[2] = Blocks.ensure(s[2], kb);
            for (int j = j0; j < lastPanel * nr; j++) {
                int at = base + (j / nr) * kb * nr + j % nr;
                if (j < j1) {
                    MemorySegment.copy(b, F32, 4 * (bOff + (long) j * ldb + p0), row, 0, kb);
                    for (int p = 0; p < kb; p++) bPack[at + p * nr] = row[p];
                } else {
                    for (int p = 0; p < kb; p++) bPack[at + p * nr] = 0f;
                }
            }
        }
    }
}
