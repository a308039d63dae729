package org.cce4j.core.bench;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark's input distributions have the softmax statistics they claim, checked by a softmax in
 * float64 written here from the stored values (not InputStatistics' code), on every row of a small shape
 * (N 256, D 256, V 8192, bf16); and InputStatistics reports the same numbers for the rows it samples.
 */
class BenchmarkInputsTest {
    static final int N = 256, D = 256, V = 8192;

    /** Per row: entropy, top-1 probability, target is the argmax, −log p(target), count of p > 2^-12, mass on ids < V/100. */
    record Reference(double[] entropy, double[] top1, boolean[] argmaxHit, double[] nll, int[] above, double[] headMass) {
        double mean(double[] x) {
            double s = 0;
            for (double y : x) s += y;
            return s / x.length;
        }

        double hitRate() {
            int h = 0;
            for (boolean b : argmaxHit) if (b) h++;
            return (double) h / argmaxHit.length;
        }

        double meanAbove() {
            double s = 0;
            for (int a : above) s += a;
            return s / above.length;
        }
    }

    static Reference reference(CceInputs in, int[] rows) {
        Tensor e = in.embeddings(), c = in.classifier();
        int d = (int) e.dim(1), v = (int) c.dim(0);
        double[] cv = new double[v * d];
        for (int i = 0; i < cv.length; i++) cv[i] = c.getDouble(i);
        int s = rows.length;
        Reference r = new Reference(new double[s], new double[s], new boolean[s], new double[s], new int[s], new double[s]);
        double[] z = new double[v];
        for (int q = 0; q < s; q++) {
            int row = rows[q];
            double max = Double.NEGATIVE_INFINITY;
            int arg = -1;
            for (int j = 0; j < v; j++) {
                double acc = 0;
                for (int k = 0; k < d; k++) acc += e.getDouble((long) row * d + k) * cv[j * d + k];
                z[j] = acc;
                if (acc > max) {
                    max = acc;
                    arg = j;
                }
            }
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.exp(z[j] - max);
            double h = 0, head = 0;
            int above = 0;
            for (int j = 0; j < v; j++) {
                double p = Math.exp(z[j] - max) / sum;
                if (p > 0) h -= p * Math.log(p);
                if (p > 0x1p-12) above++;
                if (j < v / 100) head += p;
            }
            int t = (int) in.targets().getLong(row);
            r.entropy[q] = h;
            r.top1[q] = 1 / sum;
            r.argmaxHit[q] = t == arg;
            r.nll[q] = Math.log(sum) + max - z[t];
            r.above[q] = above;
            r.headMass[q] = head;
        }
        return r;
    }

    static int[] allRows(int n) {
        int[] rows = new int[n];
        for (int i = 0; i < n; i++) rows[i] = i;
        return rows;
    }

    @Test
    void trainedLooksLikeATrainedHead() {
        CceInputs in = LossBenchmarkInputs.create(InputKind.TRAINED, N, D, V, DType.BF16, 1234);
        try {
            Reference r = reference(in, allRows(N));
            double h = r.mean(r.entropy), top1 = r.mean(r.top1), hit = r.hitRate(), nll = r.mean(r.nll);
            double head = r.mean(r.headMass);
            System.out.printf("trained N %d D %d V %d: entropy %.3f top-1 %.3f target=argmax %.3f nll %.3f above/row %.1f mass on 1%% of ids %.3f%n",
                    N, D, V, h, top1, hit, nll, r.meanAbove(), head);
            assertTrue(h >= 1.5 && h <= 3, "mean entropy " + h);
            assertTrue(top1 >= 0.3 && top1 <= 0.6, "mean top-1 " + top1);
            assertTrue(hit >= 0.25 && hit <= 0.65, "target = argmax in " + hit);
            // targets drawn from the softmax: the expected loss is the expected entropy
            assertEquals(h, nll, 0.35, "mean loss against mean entropy");
            assertTrue(head > 0.3, "the most frequent 1% of ids hold " + head + " of the mass");
            assertTrue(r.meanAbove() > 5 && r.meanAbove() < 2000, "entries above 2^-12 per row " + r.meanAbove());
            checkStatistics(in, r, "trained");
        } finally {
            LossBenchmarkInputs.close(in);
        }
    }

    @Test
    void uniformIsNearlyUniform() {
        CceInputs in = LossBenchmarkInputs.create(InputKind.UNIFORM, N, D, V, DType.BF16, 1234);
        try {
            Reference r = reference(in, allRows(N));
            double h = r.mean(r.entropy);
            assertEquals(Math.log(V), h, 1e-3, "mean entropy");
            assertTrue(r.mean(r.top1) < 1.2 / V, "top-1 " + r.mean(r.top1));
            assertEquals(0, r.meanAbove(), 0.0, "no probability reaches 2^-12 at V = 8192");
            checkStatistics(in, r, "uniform");
        } finally {
            LossBenchmarkInputs.close(in);
        }
    }

    @Test
    void paperIsNearlyOneHotOnTheRowsOwnEntry() {
        CceInputs in = LossBenchmarkInputs.create(InputKind.PAPER, N, D, V, DType.BF16, 42);
        try {
            Reference r = reference(in, allRows(N));
            assertTrue(r.mean(r.top1) > 0.99, "top-1 " + r.mean(r.top1));
            assertTrue(r.hitRate() < 0.05, "target = argmax " + r.hitRate());
            checkStatistics(in, r, "paper");
        } finally {
            LossBenchmarkInputs.close(in);
        }
    }

    /** InputStatistics on its 64 evenly spread rows equals the reference on those rows. */
    private static void checkStatistics(CceInputs in, Reference all, String label) {
        InputStatistics s = InputStatistics.measure(label, in, 0, 64);
        assertEquals(64, s.rowsSampled());
        int[] rows = new int[64];
        for (int q = 0; q < 64; q++) rows[q] = q * N / 64;
        Reference r = reference(in, rows);
        assertEquals(r.mean(r.entropy), s.meanEntropy(), 1e-9);
        assertEquals(r.mean(r.top1), s.meanTop1(), 1e-9);
        assertEquals(r.hitRate(), s.targetIsArgmax(), 1e-12);
        assertEquals(r.mean(r.nll), s.meanLoss(), 1e-9);
        assertEquals(r.meanAbove(), s.abovePerRow(), 1e-9);
        assertEquals(r.meanAbove() / V, s.aboveFilter(), 1e-12);
        assertTrue(s.toJson().startsWith("{\"kind\":\"" + label + "\",\"rows_sampled\":64,"), s.toJson());
    }

    @Test
    void theSameSeedGivesTheSameInputsAndF32HoldsTheSameDistribution() {
        CceInputs a = LossBenchmarkInputs.create(InputKind.TRAINED, 64, 128, 2048, DType.BF16, 7);
        CceInputs b = LossBenchmarkInputs.create(InputKind.TRAINED, 64, 128, 2048, DType.BF16, 7);
        try {
            assertArrayEquals(a.embeddings().toFloatArray(), b.embeddings().toFloatArray());
            assertArrayEquals(a.classifier().toFloatArray(), b.classifier().toFloatArray());
            assertArrayEquals(a.targets().toLongArray(), b.targets().toLongArray());
        } finally {
            LossBenchmarkInputs.close(a);
            LossBenchmarkInputs.close(b);
        }
        CceInputs f = LossBenchmarkInputs.create(InputKind.TRAINED, N, D, V, DType.F32, 1234);
        try {
            assertEquals(DType.F32, f.embeddings().dtype());
            InputStatistics s = InputStatistics.measure("trained", f, 0, N);
            assertTrue(s.meanEntropy() >= 1.5 && s.meanEntropy() <= 3, s.toText());
            assertTrue(s.meanTop1() >= 0.3 && s.meanTop1() <= 0.6, s.toText());
        } finally {
            LossBenchmarkInputs.close(f);
        }
    }

    @Test
    void kindsParseByNameAndAnythingElseIsNamed() {
        assertEquals(InputKind.TRAINED, InputKind.parse("Trained"));
        assertTrue(InputKind.isKind("uniform"));
        var e = assertThrows(InvalidInputException.class, () -> InputKind.parse("zipf"));
        assertEquals("--inputs must be paper, uniform, trained or a .safetensors file, got zipf", e.getMessage());
    }
}
