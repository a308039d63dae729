package org.cce4j.core.loss;

import org.cce4j.core.bench.InputKind;
import org.cce4j.core.bench.LossBenchmarkInputs;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.loss.cuda.CudaCutCrossEntropy;
import org.cce4j.core.loss.cuda.EntryListOutcome;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.cce4j.core.loss.LossCase.flat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA cce backward's entry lists against float64. What the lists keep is defined entry by entry
 * (a softmax part below filterEps is dropped from dC and dBias, and below dE's threshold — filterEps
 * by default — from dE, each tile's dropped parts coming back against the mean of its rows of C), so
 * the reference applies
 * exactly that ({@link NaiveCrossEntropy} with entry thresholds) and the gradients must match it to
 * f32 accuracy (1e-4) — bf16 and f16 inputs included, since the logits, the kept gradients and their
 * sums are f32. Small budgets cut every case into many chunks of rows (16 at a time through cuBLAS,
 * 128 on tensor cores, which bf16/f16 with D % 8 == 0 take on Hopper) and of vocabulary entries; on
 * these small problems the tensor-core plan visits every tile. Also: the automatic path hands
 * spread-out rows to the dense products (and only those rows), and on trained-like inputs (where
 * most tiles are not visited) the lists' gradients stay as close to the exact ones as the tiled
 * filter's. Skipped where no CUDA device is usable.
 */
@Tag("gpu")
class CudaEntryListBackwardTest {
    private static final double TOL = 1e-4;
    /** 64 KiB of logits and 16 rows of lists per chunk at most (the lists of 4,102 entries per row: 525 KiB). */
    private static final long WORKSPACE = 64 << 10, LISTS = 16L * 4102 * 8;

    private static CudaCutCrossEntropy lists(CudaCutCrossEntropy.BackwardPath path) {
        GpuAvailability.require();
        return new CudaCutCrossEntropy(false, new Device.Cuda(0), path, WORKSPACE, LISTS);
    }

    /** The reference with the entry filter on every row, at the threshold the loss uses for these inputs. */
    private static NaiveCrossEntropy entryFiltered(LossCase c, int filteredRows) {
        float eps = c.options.effectiveFilterEps(c.dtype == DType.F32 ? 0x1p-23 : c.dtype == DType.F16 ? 0x1p-10 : 0x1p-7);
        return new NaiveCrossEntropy(c.e, c.c, c.bias, c.targets, c.weights, c.seqLen, c.options, c.upstream,
                CudaCutCrossEntropy.entriesEmbeddingEps(eps), eps, filteredRows);
    }

    private static void checkForced(LossCase c) {
        CudaCutCrossEntropy impl = lists(CudaCutCrossEntropy.BackwardPath.ENTRIES);
        CudaLossAgainstReferenceTest.check(c, impl, entryFiltered(c, c.n), TOL, "entries");
        EntryListOutcome out = impl.lastEntries;
        assertNotNull(out, "the lists were taken");
        assertTrue(!out.fellBack(), "a forced path keeps the lists");
    }

    private static CceOptions base() {
        return CceOptions.defaults();
    }

    @Test
    void f32WithAnExplicitThreshold() {
        checkForced(new LossCase(101, new long[] {50}, 300, 37, DType.F32, 9, 0, false, false, base().withFilterEps(2e-3f)));
        checkForced(new LossCase(102, new long[] {70}, 260, 48, DType.F32, 9, 0.3, true, false,
                base().withFilterEps(1e-3f).withReduction(Reduction.SUM)));
        checkForced(new LossCase(103, new long[] {45}, 333, 33, DType.F32, 400, 0.2, false, false,
                base().withFilterEps(1e-3f).withSoftcap(5f).withReduction(Reduction.NONE)));
    }

    @Test
    void bf16AndF16AtTheirAutomaticThresholds() {
        checkForced(new LossCase(104, new long[] {3, 17}, 129, 64, DType.BF16, 9, 0.2, false, false,
                base().withShift(1).withIgnoreIndex(-1)));
        checkForced(new LossCase(105, new long[] {77}, 611, 45, DType.BF16, 9, 0.2, true, true,
                base().withLabelSmoothing(0.02f).withZLossWeight(1e-3f).withSoftcap(20f))); // α/V = 3.3e-5, below 2⁻¹⁴ too
        checkForced(new LossCase(106, new long[] {130}, 700, 136, DType.F16, 9, 0.1, true, true,
                base().withZLossWeight(1e-3f).withReduction(Reduction.NONE)));
    }

    /**
     * Rows that keep thousands of entries (nearly uniform over 3,000 with the threshold at 1e-4, so every
     * p ≈ 3.3e-4 is kept): the apply kernel's list goes through shared memory in many batches of 256,
     * at D 64 and at D 2304.
     */
    @Test
    void rowsKeepingThousandsOfEntries() {
        checkForced(new LossCase(110, new long[] {40}, 3000, 64, DType.BF16, 0.01, 0, true, false, base().withFilterEps(1e-4f)));
        checkForced(new LossCase(111, new long[] {24}, 3000, 2304, DType.BF16, 0.01, 0, false, false, base().withFilterEps(1e-4f)));
    }

    /** D above one pass of the apply kernel (2048 dimensions), and a vocabulary of several chunks. */
    @Test
    void largeDimension() {
        checkForced(new LossCase(107, new long[] {4, 40}, 1100, 2304, DType.BF16, 9, 0.05, false, false,
                base().withShift(1).withSoftcap(30f)));
    }

    /**
     * 384 rows, the first 256 sure of one entry (e = 20·C[i], so p ≈ 1 on it and at most a few others
     * above the thresholds), the last 128 almost uniform over 3,000 entries (every p ≈ 1/3000, all above 2⁻¹²).
     * The automatic path takes the lists, applies the chunks of the first 256 rows (128 rows at a
     * time on tensor cores with D = 64, 16 through cuBLAS with D = 60) and hands rows 256-383 to the
     * dense products, which skip nothing: the reference filters the first 256 rows only.
     */
    @ParameterizedTest @ValueSource(ints = {64, 60})
    void spreadRowsGoToTheDenseProducts(int d) {
        int n = 384, sure = 256, v = 3000;
        LossCase c = new LossCase(108, new long[] {n}, v, d, DType.BF16, 1, 0, false, false, base().withReduction(Reduction.SUM));
        SplittableRandom rnd = new SplittableRandom(109);
        for (double[] row : c.c) for (int k = 0; k < d; k++) row[k] = bf16(rnd.nextGaussian() / Math.sqrt(d));
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) c.e[i][k] = bf16(i < sure ? 20 * c.c[i][k] : 0.01 * rnd.nextGaussian());
        }
        CudaCutCrossEntropy impl = lists(CudaCutCrossEntropy.BackwardPath.AUTO);
        CudaLossAgainstReferenceTest.check(c, impl, entryFiltered(c, sure), TOL, "auto");
        EntryListOutcome out = impl.lastEntries;
        assertNotNull(out, "every tile is active: the lists were taken");
        assertTrue(out.fellBack() && impl.lastDense, "the spread rows went dense");
        assertEquals(sure, out.rowsApplied(), "rows applied from the lists");
        assertTrue(out.keptPerRow() < 16, "sure rows keep few entries (10 at D 60, 20/√60 = 2.6 nats of spread), kept " + out.keptPerRow());
    }

    /**
     * Rows sure of their own entry (E = 12·C[:n], C ~ N(0, 1/D), D 1024: the own logit about 12, the
     * others N(0, 0.38²)): the tensor-core plan visits tile 0 (where the own entries are) and skips the
     * other eleven, which still hold about 2% of each row's probability. The reference drops exactly
     * those tiles (planned here in float64: a 128-row block visits a tile when exp(max logit − smallest
     * lse) of either of its 64-row groups reaches the threshold; the margin is a factor of about 2)
     * and gives their part back against the mean of all of C, so the remainder path is held to 1e-4.
     */
    @Test
    void tilesThePlanSkipsGoAgainstTheMeanOfC() {
        int n = 256, v = 3000, d = 1024;
        CceOptions o = base().withReduction(Reduction.SUM);
        LossCase c = new LossCase(112, new long[] {n}, v, d, DType.BF16, 1, 0, false, false, o);
        SplittableRandom rnd = new SplittableRandom(113);
        for (double[] row : c.c) for (int k = 0; k < d; k++) row[k] = bf16(rnd.nextGaussian() / Math.sqrt(d));
        for (int i = 0; i < n; i++) for (int k = 0; k < d; k++) c.e[i][k] = bf16(12 * c.c[i][k]);
        NaiveCrossEntropy exact = c.reference();
        float eps = 0x1p-12f;
        int tiles = (v + 255) / 256, blocks = (n + 127) / 128;
        double[][] tileMax = new double[(n + 63) / 64][tiles];
        double[] lseMin = new double[(n + 63) / 64];
        for (double[] row : tileMax) java.util.Arrays.fill(row, Double.NEGATIVE_INFINITY);
        java.util.Arrays.fill(lseMin, Double.POSITIVE_INFINITY);
        for (int i = 0; i < n; i++) {
            lseMin[i / 64] = Math.min(lseMin[i / 64], exact.lse[i]);
            for (int j = 0; j < v; j++) {
                double x = 0;
                for (int k = 0; k < d; k++) x += c.e[i][k] * c.c[j][k];
                tileMax[i / 64][j / 256] = Math.max(tileMax[i / 64][j / 256], x);
            }
        }
        boolean[][] unvisited = new boolean[blocks][tiles];
        int skipped = 0;
        for (int b = 0; b < blocks; b++) {
            for (int t = 0; t < tiles; t++) {
                boolean visit = false;
                for (int g = 2 * b; g < Math.min(2 * b + 2, lseMin.length); g++) visit |= Math.exp(tileMax[g][t] - lseMin[g]) >= eps;
                unvisited[b][t] = !visit;
                if (!visit) skipped++;
            }
        }
        assertTrue(skipped * 2 > blocks * tiles, "the plan skips most tiles (" + skipped + " of " + blocks * tiles + ")");
        double unseen = 0;
        for (int j = 256; j < v; j++) unseen += Math.exp(logit(c, 0, j) - exact.lse[0]);
        assertTrue(unseen > 1e-3, "the skipped tiles hold a visible part of row 0: " + unseen);
        NaiveCrossEntropy ref = new NaiveCrossEntropy(c.e, c.c, c.bias, c.targets, c.weights, c.seqLen, o, c.upstream,
                CudaCutCrossEntropy.entriesEmbeddingEps(eps), eps, n, unvisited);
        CudaLossAgainstReferenceTest.check(c, lists(CudaCutCrossEntropy.BackwardPath.ENTRIES), ref, TOL, "entries, tiles skipped");
    }

    /**
     * Trained-like inputs (bf16, N 256, D 256, V 8192: about 100 entries above 2⁻¹² per row): the lists
     * keep exactly what the filter says, and against the exact gradient they are as close as the tiled
     * filter (which keeps whole tiles, so more), both within the filtered loss's 2e-2.
     */
    @Test
    void trainedInputsAgainstTheExactGradient() {
        CudaDevice dev = GpuAvailability.require();
        int n = 256, d = 256, v = 8192;
        CceInputs host = LossBenchmarkInputs.create(InputKind.TRAINED, n, d, v, DType.BF16, 1234);
        try {
            double[][] e = rows(host.embeddings(), n, d), c = rows(host.classifier(), v, d);
            long[] targets = host.targets().toLongArray();
            CceOptions o = base();
            NaiveCrossEntropy exact = new NaiveCrossEntropy(e, c, null, targets, null, n, o, new double[] {1});
            double[] listErr = errors(dev, host, lists(CudaCutCrossEntropy.BackwardPath.ENTRIES), o, exact, "entries");
            double[] tileErr = errors(dev, host, lists(CudaCutCrossEntropy.BackwardPath.TILES), o, exact, "tiles");
            System.out.printf("trained inputs N %d D %d V %d: error vs exact  dE %.3e (tiles %.3e)  dC %.3e (tiles %.3e)%n",
                    n, d, v, listErr[0], tileErr[0], listErr[1], tileErr[1]);
            // a float64 simulation of the lists on these inputs gave dE 5.5e-3 (one threshold, 2⁻¹², each
            // tile's dropped part against its mean row), 1.9e-3 with dE's threshold at 2⁻¹⁴, and 1.4e-1 for a
            // plain drop; the tiles keep more (1.6e-3). dC drops what the tiles' small entries held: 3.2e-3 vs 1.2e-3
            float factor = CudaCutCrossEntropy.entriesEmbeddingEps(1f);
            double dETol = factor < 0.5f ? 2 : 4;
            assertTrue(listErr[0] <= dETol * tileErr[0], "dE of the lists within " + dETol + "× the tiles' error of the exact one");
            assertTrue(listErr[1] <= 4 * tileErr[1], "dC of the lists near the tiles' (they drop the tiles' small entries)");
            assertTrue(listErr[0] <= 8e-3 && listErr[1] <= 8e-3, "within 8e-3 of the exact gradients");
        } finally {
            LossBenchmarkInputs.close(host);
        }
    }

    /** The relative errors of dE and dC against {@code exact}. */
    private static double[] errors(CudaDevice dev, CceInputs host, CudaCutCrossEntropy impl, CceOptions o,
                                   NaiveCrossEntropy exact, String what) {
        try (Tensor ed = dev.upload(host.embeddings()); Tensor cd = dev.upload(host.classifier());
             CceForward f = impl.forward(CceInputs.of(ed, cd, host.targets()), o); CceGradients g = impl.backward(f, 1f);
             Tensor dE = dev.download(g.dEmbeddings()); Tensor dC = dev.download(g.dClassifier())) {
            double[] de = dE.toDoubleArray(), dc = dC.toDoubleArray();
            return new double[] {RelativeError.of(flat(exact.dE), de), RelativeError.of(flat(exact.dC), dc)};
        }
    }

    /** Row i's logit of entry j (no bias, no softcap). */
    private static double logit(LossCase c, int i, int j) {
        double x = 0;
        for (int k = 0; k < c.d; k++) x += c.e[i][k] * c.c[j][k];
        return x;
    }

    private static double[][] rows(Tensor t, int n, int d) {
        double[] flat = t.toDoubleArray();
        double[][] m = new double[n][d];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * d, m[i], 0, d);
        return m;
    }

    private static double bf16(double x) {
        return org.cce4j.core.tensor.FloatFormats.bf16ToF32(org.cce4j.core.tensor.FloatFormats.f32ToBf16((float) x));
    }
}
