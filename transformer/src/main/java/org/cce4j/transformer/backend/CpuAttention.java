package org.cce4j.transformer.backend;

import org.cce4j.core.cpu.Blocks;
import org.cce4j.core.cpu.CpuKernelSelector;
import org.cce4j.core.cpu.CpuKernels;
import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Attention on the CPU as small matrix products over blocks of queries, with an exact softmax over
 * each query's visible keys: the scores of a block of MR queries live in a scratch of MR × T, so
 * memory grows linearly with the sequence and no T×T matrix exists. The products go through
 * cce-core's micro-kernel ({@link CpuKernels#gemmTile}: Vector API or plain Java), the
 * exponentials through its deterministic exp. The backward recomputes each block's probabilities
 * from the saved log-sum-exp (as flash attention does) and adds dK and dV once per block of QB
 * queries, as products of depth QB. Work is split by (sequence, key/value head), so the query heads
 * that share a key/value head — and their dK, dV — belong to one task; every sum runs in a fixed
 * order, so results do not depend on the threads.
 * <pre>
 *   per task, f32 heap copies (Tp = T rounded up to nr, dp = headDim rounded up to nr, Tq = T rounded up to QB),
 *   B operands packed in panels of nr columns (ldb = nr: the micro-kernel's fast path):
 *     kT, vT       [Tp/nr][hd][nr]   keys / values transposed: B of q·kᵀ and dO·vᵀ
 *     kP, vP       [dp/nr][Tp][nr]   keys / values: B of dS·k and p·v
 *     q, o, dO     [Tq][dp]          one query head's rows (A operands)
 *     qP, dOP      [dp/nr][Tq][nr]   q, dO packed: B of dSᵀ·q and pᵀ·dO
 *     dK, dV       [Tp][dp]          the task's gradients, summed over its query heads
 *   per block of MR queries:  s [MR][Tp];  per block of QB queries: p, dS [QB][Tp] and their transposes [Tp][QB]
 * </pre>
 */
final class CpuAttention {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int MR = CpuKernels.MR;
    /** Queries per dK/dV update in the backward (a multiple of MR). */
    private static final int QB = 64;

    private CpuAttention() {}

    /** Grow-only scratch arrays of one thread. */
    private static final class Scratch {
        final float[][] a = new float[16][];

        float[] get(int slot, int n) {
            return a[slot] = Blocks.ensure(a[slot], n);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** dst[i*ld + d] = head {@code head} of token row (b, i), d < hd; zero for d in [hd, ld) and rows in [t, rows). */
    private static void rows(MemorySegment src, int b, int t, int width, int head, int hd, float[] dst, int ld, int rows) {
        for (int i = 0; i < t; i++) {
            MemorySegment.copy(src, F32, 4L * ((long) (b * t + i) * width + (long) head * hd), dst, i * ld, hd);
            if (ld > hd) Arrays.fill(dst, i * ld + hd, (i + 1) * ld, 0f);
        }
        Arrays.fill(dst, t * ld, rows * ld, 0f);
    }

    /** dst[(c/nr)*rows*nr + r*nr + c%nr] = m[r*ld + c] for r < rows, c < ld (ld a multiple of nr): panels over columns. */
    private static void columnPanels(float[] m, int ld, int rows, int nr, float[] dst) {
        for (int r = 0; r < rows; r++) {
            for (int pj = 0; pj < ld / nr; pj++) System.arraycopy(m, r * ld + pj * nr, dst, (pj * rows + r) * nr, nr);
        }
    }

    /** dst[(j/nr)*hd*nr + d*nr + j%nr] = m[j*ld + d] for j < tp, d < hd: the transpose of m's rows, in panels over j. */
    private static void transposedPanels(float[] m, int ld, int tp, int hd, int nr, float[] dst) {
        for (int j = 0; j < tp; j++) {
            int base = (j / nr) * hd * nr + j % nr;
            for (int d = 0; d < hd; d++) dst[base + d * nr] = m[j * ld + d];
        }
    }

    /** dst[j*ld + r] = m[r*tp + j] for r < rows, j < cols. */
    private static void transpose(float[] m, int tp, int rows, int cols, float[] dst, int ld) {
        for (int r = 0; r < rows; r++) {
            int src = r * tp;
            for (int j = 0; j < cols; j++) dst[j * ld + r] = m[src + j];
        }
    }

    private static void writeRow(float[] src, int off, MemorySegment dst, int b, int t, int i, int width, int head, int hd) {
        MemorySegment.copy(src, off, dst, F32, 4L * ((long) (b * t + i) * width + (long) head * hd), hd);
    }

    private static boolean plainCausal(AttentionShape s) {
        return s.window() <= 0 && s.documents() == null && s.keyMask() == null;
    }

    /**
     * Turns row {@code r} of raw dot products s[r*ld .. r*ld + i] (query i against keys 0..i) into
     * scores: scale, softcap, −∞ where the key is not visible. Keys after i are not touched.
     */
    private static void scores(AttentionShape s, CpuKernels k, float[] sc, int off, int b, int i, boolean causal) {
        int n = i + 1;
        float scale = s.scale(), cap = s.softcap();
        for (int j = 0; j < n; j++) sc[off + j] *= scale;
        if (cap > 0) {
            float inv = 1f / cap;
            for (int j = 0; j < n; j++) sc[off + j] *= inv;
            k.tanh(sc, off, sc, off, n);
            for (int j = 0; j < n; j++) sc[off + j] *= cap;
        }
        if (!causal) {
            int t = s.seqLen();
            for (int j = 0; j < n; j++) if (!s.visible(b * t + i, b * t + j)) sc[off + j] = Float.NEGATIVE_INFINITY;
        }
    }

    static void forward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        CpuKernels kr = CpuKernelSelector.best();
        int groups = s.heads() / s.kvHeads(), hd = s.headDim(), t = s.seqLen(), nr = kr.nr();
        int qWidth = s.heads() * hd, kvWidth = s.kvHeads() * hd;
        int tp = Blocks.roundUp(t, nr), dp = Blocks.roundUp(hd, nr), t4 = Blocks.roundUp(t, MR);
        boolean causal = plainCausal(s);
        CpuParallel.forEach(s.batch() * s.kvHeads(), task -> {
            int b = task / s.kvHeads(), kvh = task % s.kvHeads();
            Scratch sc = SCRATCH.get();
            float[] kv = sc.get(0, tp * dp), kT = sc.get(1, hd * tp), vP = sc.get(2, tp * dp), qr = sc.get(3, t4 * dp);
            float[] sBlock = sc.get(4, MR * tp), oTile = sc.get(5, MR * dp);
            rows(k.data(), b, t, kvWidth, kvh, hd, kv, dp, tp);
            transposedPanels(kv, dp, tp, hd, nr, kT);
            rows(v.data(), b, t, kvWidth, kvh, hd, kv, dp, tp);
            columnPanels(kv, dp, tp, nr, vP);
            float[] rowLse = new float[MR], rowInv = new float[MR];
            for (int g = 0; g < groups; g++) {
                int h = kvh * groups + g;
                rows(q.data(), b, t, qWidth, h, hd, qr, dp, t4);
                for (int i0 = 0; i0 < t; i0 += MR) {
                    int limit = Math.min(t, i0 + MR), lPad = Blocks.roundUp(limit, nr);
                    Arrays.fill(sBlock, 0, MR * tp, 0f);
                    for (int jt = 0; jt < lPad; jt += nr) kr.gemmTile(hd, qr, i0 * dp, dp, 1, kT, jt * hd, nr, sBlock, jt, tp);
                    for (int r = 0; r < MR; r++) {
                        int i = i0 + r, off = r * tp;
                        rowLse[r] = Float.NEGATIVE_INFINITY;
                        rowInv[r] = 0f;
                        if (i >= t) {
                            Arrays.fill(sBlock, off, off + limit, 0f);
                            continue;
                        }
                        scores(s, kr, sBlock, off, b, i, causal);
                        Arrays.fill(sBlock, off + i + 1, off + limit, 0f);
                        float m = kr.max(sBlock, off, i + 1);
                        if (m == Float.NEGATIVE_INFINITY) {
                            Arrays.fill(sBlock, off, off + i + 1, 0f);   // sees no key: zeros
                            continue;
                        }
                        float sum = kr.expShiftSum(sBlock, off, i + 1, m);
                        rowLse[r] = (float) (m + Math.log(sum));
                        rowInv[r] = 1f / sum;
                    }
                    Arrays.fill(oTile, 0, MR * dp, 0f);
                    for (int dt = 0; dt < dp; dt += nr) kr.gemmTile(limit, sBlock, 0, tp, 1, vP, dt * tp, nr, oTile, dt, dp);
                    for (int r = 0; r < MR && i0 + r < t; r++) {
                        int i = i0 + r;
                        for (int d = 0; d < hd; d++) oTile[r * dp + d] *= rowInv[r];
                        writeRow(oTile, r * dp, out.data(), b, t, i, qWidth, h, hd);
                        lse.data().set(F32, 4L * ((long) (b * t + i) * s.heads() + h), rowLse[r]);
                    }
                }
            }
        });
    }

    /**
     * One query over {@code s.keys()} cached rows, every one visible ({@link DecodeShape}): the same
     * arithmetic as {@link #forward} for a row (each score one fused multiply-add chain over the head
     * dimension, exp relative to the maximum, p·v summed key by key), in the cache's slot order.
     * Work is split by query head.
     */
    static void decode(DecodeShape s, Tensor q, Tensor k, Tensor v, Tensor out) {
        CpuKernels kr = CpuKernelSelector.best();
        int groups = s.heads() / s.kvHeads(), hd = s.headDim(), n = s.keys(), kvWidth = s.kvHeads() * hd;
        if (k.dim(0) < n || v.dim(0) < n) throw new IllegalArgumentException("decode attention over " + n + " keys of caches " + k + ", " + v);
        CpuParallel.forEach(s.heads(), h -> {
            int kvh = h / groups;
            float[] qr = new float[hd], kv = new float[hd], acc = new float[hd], scores = new float[n];
            MemorySegment.copy(q.data(), F32, 4L * h * hd, qr, 0, hd);
            for (int j = 0; j < n; j++) {
                MemorySegment.copy(k.data(), F32, 4L * ((long) j * kvWidth + (long) kvh * hd), kv, 0, hd);
                float dot = 0;
                for (int d = 0; d < hd; d++) dot = Math.fma(qr[d], kv[d], dot);
                scores[j] = dot * s.scale();
            }
            if (s.softcap() > 0) {
                float cap = s.softcap(), inv = 1f / cap;
                for (int j = 0; j < n; j++) scores[j] *= inv;
                kr.tanh(scores, 0, scores, 0, n);
                for (int j = 0; j < n; j++) scores[j] *= cap;
            }
            float m = kr.max(scores, 0, n);
            float sum = kr.expShiftSum(scores, 0, n, m);
            for (int j = 0; j < n; j++) {
                MemorySegment.copy(v.data(), F32, 4L * ((long) j * kvWidth + (long) kvh * hd), kv, 0, hd);
                for (int d = 0; d < hd; d++) acc[d] = Math.fma(scores[j], kv[d], acc[d]);
            }
            float inv = 1f / sum;
            for (int d = 0; d < hd; d++) acc[d] *= inv;
            MemorySegment.copy(acc, 0, out.data(), F32, 4L * h * hd, hd);
        });
    }

    static void backward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                         Tensor dq, Tensor dk, Tensor dv) {
        CpuKernels kr = CpuKernelSelector.best();
        int groups = s.heads() / s.kvHeads(), hd = s.headDim(), t = s.seqLen(), nr = kr.nr();
        int qWidth = s.heads() * hd, kvWidth = s.kvHeads() * hd;
        int tp = Blocks.roundUp(t, nr), dp = Blocks.roundUp(hd, nr), tq = Blocks.roundUp(t, QB);
        boolean causal = plainCausal(s);
        float cap = s.softcap();
        CpuParallel.forEach(s.batch() * s.kvHeads(), task -> {
            int b = task / s.kvHeads(), kvh = task % s.kvHeads();
            Scratch sc = SCRATCH.get();
            float[] kv = sc.get(0, tp * dp), kT = sc.get(1, hd * tp), vT = sc.get(2, hd * tp), kP = sc.get(3, tp * dp);
            float[] qr = sc.get(4, tq * dp), orow = sc.get(5, tq * dp), dor = sc.get(6, tq * dp);
            float[] dK = sc.get(7, tp * dp), dV = sc.get(8, tp * dp);
            float[] p = sc.get(9, QB * tp), dS = sc.get(10, QB * tp), tile = sc.get(11, MR * dp);
            float[] qP = sc.get(12, tq * dp), doP = sc.get(13, tq * dp), pT = sc.get(14, tp * QB), dST = sc.get(15, tp * QB);
            rows(k.data(), b, t, kvWidth, kvh, hd, kv, dp, tp);
            transposedPanels(kv, dp, tp, hd, nr, kT);
            columnPanels(kv, dp, tp, nr, kP);
            rows(v.data(), b, t, kvWidth, kvh, hd, kv, dp, tp);
            transposedPanels(kv, dp, tp, hd, nr, vT);
            Arrays.fill(dK, 0, tp * dp, 0f);
            Arrays.fill(dV, 0, tp * dp, 0f);
            float[] capped = cap > 0 ? new float[tp] : null;
            for (int g = 0; g < groups; g++) {
                int h = kvh * groups + g;
                rows(q.data(), b, t, qWidth, h, hd, qr, dp, tq);
                rows(out.data(), b, t, qWidth, h, hd, orow, dp, tq);
                rows(dOut.data(), b, t, qWidth, h, hd, dor, dp, tq);
                columnPanels(qr, dp, tq, nr, qP);
                columnPanels(dor, dp, tq, nr, doP);
                for (int q0 = 0; q0 < t; q0 += QB) {
                    int keys = Math.min(t, q0 + QB), keys4 = Blocks.roundUp(keys, MR);
                    for (int i0 = q0; i0 < q0 + QB; i0 += MR) {
                        int pOff = (i0 - q0) * tp;
                        Arrays.fill(p, pOff, pOff + MR * tp, 0f);
                        Arrays.fill(dS, pOff, pOff + MR * tp, 0f);
                        if (i0 >= t) continue;
                        int limit = Math.min(t, i0 + MR), lPad = Blocks.roundUp(limit, nr);
                        // s = q·kᵀ and dP = dO·vᵀ for these MR queries, into p and dS
                        for (int jt = 0; jt < lPad; jt += nr) {
                            kr.gemmTile(hd, qr, i0 * dp, dp, 1, kT, jt * hd, nr, p, pOff + jt, tp);
                            kr.gemmTile(hd, dor, i0 * dp, dp, 1, vT, jt * hd, nr, dS, pOff + jt, tp);
                        }
                        for (int r = 0; r < MR; r++) {
                            int i = i0 + r, off = pOff + r * tp;
                            float rowLse = i < t ? lse.data().get(F32, 4L * ((long) (b * t + i) * s.heads() + h)) : Float.NEGATIVE_INFINITY;
                            if (rowLse == Float.NEGATIVE_INFINITY) {
                                Arrays.fill(p, off, off + tp, 0f);
                                Arrays.fill(dS, off, off + tp, 0f);
                                continue;
                            }
                            scores(s, kr, p, off, b, i, causal);
                            if (capped != null) System.arraycopy(p, off, capped, 0, i + 1);
                            kr.expShiftSum(p, off, i + 1, rowLse);
                            Arrays.fill(p, off + i + 1, off + tp, 0f);
                            float delta = kr.dot(dor, i * dp, orow, i * dp, hd);
                            float scale = s.scale();
                            for (int j = 0; j <= i; j++) {
                                float pj = p[off + j];
                                if (pj == 0f) {   // not visible (or exp underflowed): no gradient, and no −∞ in the softcap's factor
                                    dS[off + j] = 0f;
                                    continue;
                                }
                                float ds = pj * (dS[off + j] - delta);
                                if (capped != null) {
                                    float c = capped[j] / cap;
                                    ds *= 1 - c * c;
                                }
                                dS[off + j] = ds * scale;
                            }
                            Arrays.fill(dS, off + i + 1, off + tp, 0f);
                        }
                        // dQ rows = dS · k
                        Arrays.fill(tile, 0, MR * dp, 0f);
                        for (int dt = 0; dt < dp; dt += nr) kr.gemmTile(limit, dS, pOff, tp, 1, kP, dt * tp, nr, tile, dt, dp);
                        for (int r = 0; r < MR && i0 + r < t; r++) writeRow(tile, r * dp, dq.data(), b, t, i0 + r, qWidth, h, hd);
                    }
                    // dV += pᵀ·dO and dK += dSᵀ·q over this block's QB queries
                    transpose(p, tp, QB, keys4, pT, QB);
                    transpose(dS, tp, QB, keys4, dST, QB);
                    for (int j0 = 0; j0 < keys4; j0 += MR) {
                        for (int dt = 0; dt < dp; dt += nr) {
                            kr.gemmTile(QB, pT, j0 * QB, QB, 1, doP, dt * tq + q0 * nr, nr, dV, j0 * dp + dt, dp);
                            kr.gemmTile(QB, dST, j0 * QB, QB, 1, qP, dt * tq + q0 * nr, nr, dK, j0 * dp + dt, dp);
                        }
                    }
                }
            }
            for (int j = 0; j < t; j++) {
                writeRow(dK, j * dp, dk.data(), b, t, j, kvWidth, kvh, hd);
                writeRow(dV, j * dp, dv.data(), b, t, j, kvWidth, kvh, hd);
            }
        });
    }
}
