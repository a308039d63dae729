package org.cce4j.transformer.backend;

import org.cce4j.core.cpu.CpuParallel;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Attention on the CPU, one query row at a time with an exact softmax over that row's visible keys:
 * the scores of a row live in a scratch array of length T, so memory grows linearly with the
 * sequence and no T×T matrix exists. The backward recomputes each row's probabilities from the
 * saved log-sum-exp (as flash attention does). Work is split by (sequence, key/value head), so the
 * query heads that share a key/value head — and their dK, dV — belong to one task.
 */
final class CpuAttention {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private CpuAttention() {}

    /** One (sequence, kv head) slice of q, k, v copied to heap rows [T][hd] per head. */
    private record Slice(float[][] q, float[] k, float[] v) {}

    private static float[] rows(MemorySegment src, int b, int t, int width, int head, int hd) {
        float[] out = new float[t * hd];
        for (int i = 0; i < t; i++) {
            MemorySegment.copy(src, F32, 4L * ((long) (b * t + i) * width + (long) head * hd), out, i * hd, hd);
        }
        return out;
    }

    private static void writeRows(float[] rows, MemorySegment dst, int b, int t, int width, int head, int hd) {
        for (int i = 0; i < t; i++) {
            MemorySegment.copy(rows, i * hd, dst, F32, 4L * ((long) (b * t + i) * width + (long) head * hd), hd);
        }
    }

    static void forward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        int groups = s.heads() / s.kvHeads(), hd = s.headDim(), t = s.seqLen();
        int qWidth = s.heads() * hd, kvWidth = s.kvHeads() * hd;
        CpuParallel.forEach(s.batch() * s.kvHeads(), task -> {
            int b = task / s.kvHeads(), kvh = task % s.kvHeads();
            float[] kr = rows(k.data(), b, t, kvWidth, kvh, hd), vr = rows(v.data(), b, t, kvWidth, kvh, hd);
            float[] scores = new float[t];
            float[] acc = new float[hd];
            for (int g = 0; g < groups; g++) {
                int h = kvh * groups + g;
                float[] qr = rows(q.data(), b, t, qWidth, h, hd);
                float[] o = new float[t * hd];
                for (int i = 0; i < t; i++) {
                    int row = b * t + i;
                    double m = rowScores(s, qr, i, kr, b, scores);
                    float rowLse = Float.NEGATIVE_INFINITY;
                    if (m > Double.NEGATIVE_INFINITY) {
                        Arrays.fill(acc, 0f);
                        double sum = 0;
                        for (int j = 0; j <= i; j++) {
                            if (Float.isNaN(scores[j])) continue;
                            float p = (float) Math.exp(scores[j] - m);
                            sum += p;
                            for (int d = 0; d < hd; d++) acc[d] += p * vr[j * hd + d];
                        }
                        float inv = (float) (1 / sum);
                        for (int d = 0; d < hd; d++) o[i * hd + d] = acc[d] * inv;
                        rowLse = (float) (m + Math.log(sum));
                    }
                    lse.data().set(F32, 4L * ((long) row * s.heads() + h), rowLse);
                }
                writeRows(o, out.data(), b, t, qWidth, h, hd);
            }
        });
    }

    /**
     * scores[j] = softcap(scale·q_i·k_j) for visible keys j ≤ i, NaN for the others; returns the
     * maximum (−inf when no key is visible).
     */
    private static double rowScores(AttentionShape s, float[] qr, int i, float[] kr, int b, float[] scores) {
        int hd = s.headDim(), t = s.seqLen();
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
            if (!s.visible(b * t + i, b * t + j)) {
                scores[j] = Float.NaN;
                continue;
            }
            float dot = 0;
            for (int d = 0; d < hd; d++) dot += qr[i * hd + d] * kr[j * hd + d];
            float x = dot * s.scale();
            if (s.softcap() > 0) x = s.softcap() * (float) Math.tanh(x / s.softcap());
            scores[j] = x;
            m = Math.max(m, x);
        }
        return m;
    }

    /**
     * One query over {@code s.keys()} cached rows, every one visible ({@link DecodeShape}): the same
     * arithmetic as {@link #forward} for a row (f32 scores, exp relative to the maximum, f64 sum).
     * Work is split by query head.
     */
    static void decode(DecodeShape s, Tensor q, Tensor k, Tensor v, Tensor out) {
        int groups = s.heads() / s.kvHeads(), hd = s.headDim(), n = s.keys(), kvWidth = s.kvHeads() * hd;
        if (k.dim(0) < n || v.dim(0) < n) throw new IllegalArgumentException("decode attention over " + n + " keys of caches " + k + ", " + v);
        CpuParallel.forEach(s.heads(), h -> {
            int kvh = h / groups;
            float[] qr = new float[hd], kr = new float[hd], acc = new float[hd], scores = new float[n];
            MemorySegment.copy(q.data(), F32, 4L * h * hd, qr, 0, hd);
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                MemorySegment.copy(k.data(), F32, 4L * ((long) j * kvWidth + (long) kvh * hd), kr, 0, hd);
                float dot = 0;
                for (int d = 0; d < hd; d++) dot += qr[d] * kr[d];
                float x = dot * s.scale();
                if (s.softcap() > 0) x = s.softcap() * (float) Math.tanh(x / s.softcap());
                scores[j] = x;
                m = Math.max(m, x);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                float p = (float) Math.exp(scores[j] - m);
                sum += p;
                long row = 4L * ((long) j * kvWidth + (long) kvh * hd);
                for (int d = 0; d < hd; d++) acc[d] += p * v.data().get(F32, row + 4L * d);
            }
            float inv = (float) (1 / sum);
            for (int d = 0; d < hd; d++) out.data().set(F32, 4L * ((long) h * hd + d), acc[d] * inv);
        });
    }

    static void backward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dOut,
                         Tensor dq, Tensor dk, Tensor dv) {
        int groups = s.heads() / s.kvHeads(), hd = s.headDim(), t = s.seqLen();
        int qWidth = s.heads() * hd, kvWidth = s.kvHeads() * hd;
        CpuParallel.forEach(s.batch() * s.kvHeads(), task -> {
            int b = task / s.kvHeads(), kvh = task % s.kvHeads();
            float[] kr = rows(k.data(), b, t, kvWidth, kvh, hd), vr = rows(v.data(), b, t, kvWidth, kvh, hd);
            float[] dkr = new float[t * hd], dvr = new float[t * hd];
            float[] scores = new float[t];
            for (int g = 0; g < groups; g++) {
                int h = kvh * groups + g;
                float[] qr = rows(q.data(), b, t, qWidth, h, hd);
                float[] orow = rows(out.data(), b, t, qWidth, h, hd);
                float[] dor = rows(dOut.data(), b, t, qWidth, h, hd);
                float[] dqr = new float[t * hd];
                for (int i = 0; i < t; i++) {
                    float rowLse = lse.data().get(F32, 4L * ((long) (b * t + i) * s.heads() + h));
                    if (rowLse == Float.NEGATIVE_INFINITY) continue;
                    rowScores(s, qr, i, kr, b, scores);
                    float delta = 0;
                    for (int d = 0; d < hd; d++) delta += dor[i * hd + d] * orow[i * hd + d];
                    for (int j = 0; j <= i; j++) {
                        if (Float.isNaN(scores[j])) continue;
                        float p = (float) Math.exp(scores[j] - rowLse);
                        float dp = 0;
                        for (int d = 0; d < hd; d++) {
                            dp += dor[i * hd + d] * vr[j * hd + d];
                            dvr[j * hd + d] += p * dor[i * hd + d];
                        }
                        float ds = p * (dp - delta);
                        if (s.softcap() > 0) {
                            float c = scores[j] / s.softcap();
                            ds *= 1 - c * c;
                        }
                        ds *= s.scale();
                        for (int d = 0; d < hd; d++) {
                            dqr[i * hd + d] += ds * kr[j * hd + d];
                            dkr[j * hd + d] += ds * qr[i * hd + d];
                        }
                    }
                }
                writeRows(dqr, dq.data(), b, t, qWidth, h, hd);
            }
            writeRows(dkr, dk.data(), b, t, kvWidth, kvh, hd);
            writeRows(dvr, dv.data(), b, t, kvWidth, kvh, hd);
        });
    }
}
