package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.NaiveCrossEntropy;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code loss} command end to end: files in, files out, numbers against the float64 reference,
 * and every kind of bad input refused with exit status 2 and one line.
 */
class LossCommandTest {
    @TempDir
    Path dir;

    private final int n = 37, v = 301, d = 19;
    private final SplittableRandom rnd = new SplittableRandom(11);
    private final double[][] e = gaussian(n, d, 0.9), c = gaussian(v, d, 0.9);
    private final double[] bias = gaussian(1, v, 1)[0];
    private final long[] targets = new long[n];

    LossCommandTest() {
        for (int i = 0; i < n; i++) targets[i] = i % 5 == 3 ? -100 : rnd.nextInt(v);
    }

    private double[][] gaussian(int rows, int cols, double scale) {
        double[][] m = new double[rows][cols];
        for (double[] r : m) for (int k = 0; k < cols; k++) r[k] = (float) (rnd.nextGaussian() * scale);
        return m;
    }

    private static Tensor tensor(double[][] m) {
        float[] f = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int k = 0; k < m[0].length; k++) f[i * m[0].length + k] = (float) m[i][k];
        return Tensor.of(f, m.length, m[0].length);
    }

    private Path write(String name, Map<String, Tensor> tensors) throws Exception {
        Path p = dir.resolve(name);
        List<TensorEntry> entries = new ArrayList<>();
        tensors.forEach((k, t) -> entries.add(TensorEntry.of(k, t)));
        SafetensorsWriter.write(p, Map.of(), entries);
        tensors.values().forEach(Tensor::close);
        return p;
    }

    private Path input(boolean withBias) throws Exception {
        var map = new java.util.LinkedHashMap<String, Tensor>();
        map.put("E", tensor(e));
        map.put("C", tensor(c));
        map.put("targets", Tensor.of(targets, n));
        if (withBias) map.put("bias", tensor(new double[][] {bias}).reshape(v));
        return write("in.safetensors", map);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cce", "cce-exact", "baseline"})
    void matchesTheFloat64ReferenceWithSoftcapBiasAndIgnoredTokens(String impl) throws Exception {
        Path in = input(true);
        Path out = dir.resolve("out.safetensors");
        CliRun run = CliRun.of("loss", "--input", in.toString(), "--output", out.toString(), "--device", "cpu",
                "--impl", impl, "--softcap", "4");
        assertEquals(0, run.status(), run.err());
        CceOptions o = CceOptions.defaults().withSoftcap(4f);
        NaiveCrossEntropy ref = new NaiveCrossEntropy(e, c, bias, targets, null, n, o, new double[] {1});
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(DType.F32, f.tensor("loss").dtype());
            assertClose(new double[] {ref.loss}, f.tensor("loss").toDoubleArray(), "loss");
            assertClose(ref.lse, f.tensor("lse").toDoubleArray(), "lse");
            assertClose(ref.tokenLoss, f.tensor("nll").toDoubleArray(), "nll");
            assertEquals(0.0, f.tensor("nll").getDouble(3), "nll is 0 where the target is ignored");
            assertClose(flat(ref.dE), f.tensor("dE").toDoubleArray(), "dE");
            assertClose(flat(ref.dC), f.tensor("dC").toDoubleArray(), "dC");
            assertClose(ref.dBias, f.tensor("dbias").toDoubleArray(), "dbias");
            assertEquals(List.of((long) n, (long) d), List.of(f.tensor("dE").shape()[0], f.tensor("dE").shape()[1]));
        }
    }

    @Test
    void reductionNoneWritesTheSumAndTheGradientsOfTheSum() throws Exception {
        Path in = input(false);
        Path out = dir.resolve("none.safetensors");
        CliRun run = CliRun.of("loss", "--input", in.toString(), "--output", out.toString(), "--device", "cpu",
                "--reduction", "none", "--shift", "1", "--label-smoothing", "0.1");
        assertEquals(0, run.status(), run.err());
        CceOptions o = CceOptions.defaults().withReduction(Reduction.NONE).withShift(1).withLabelSmoothing(0.1f);
        double[] ones = new double[n];
        java.util.Arrays.fill(ones, 1);
        NaiveCrossEntropy ref = new NaiveCrossEntropy(e, c, null, targets, null, n, o, ones);
        double sum = 0;
        for (double x : ref.tokenLoss) sum += x;
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertClose(new double[] {sum}, f.tensor("loss").toDoubleArray(), "loss");
            assertClose(ref.tokenLoss, f.tensor("nll").toDoubleArray(), "nll");
            assertClose(flat(ref.dE), f.tensor("dE").toDoubleArray(), "dE");
            assertClose(flat(ref.dC), f.tensor("dC").toDoubleArray(), "dC");
            assertFalse(f.contains("dbias"));
        }
    }

    /**
     * --accuracy writes correct [N] (int32) and correct_count, equal to the float64 reference's first
     * maximal index compared with the target; a third of the rows get their argmax as target, so that
     * both answers occur, and ignored rows are 0.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cce", "cce-exact", "baseline"})
    void accuracyMatchesTheFloat64ArgmaxOfEachRow(String impl) throws Exception {
        CceOptions o = CceOptions.defaults().withSoftcap(4f);
        int[] argmax = new NaiveCrossEntropy(e, c, bias, targets, null, n, o, new double[] {1}).argmax;
        for (int i = 0; i < n; i += 3) if (targets[i] != -100) targets[i] = argmax[i];
        NaiveCrossEntropy ref = new NaiveCrossEntropy(e, c, bias, targets, null, n, o, new double[] {1});
        for (int i = 0; i < n; i++) {
            if (targets[i] != -100) assertTrue(ref.argmaxGap[i] > 1e-4, "row " + i + " is a near tie: " + ref.argmaxGap[i]);
        }
        assertTrue(ref.correctCount > 0 && ref.correctCount < n, "right and wrong rows: " + ref.correctCount);
        Path in = input(true);
        Path out = dir.resolve("acc.safetensors");
        CliRun run = CliRun.of("loss", "--input", in.toString(), "--output", out.toString(), "--device", "cpu",
                "--impl", impl, "--softcap", "4", "--accuracy");
        assertEquals(0, run.status(), run.err());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(DType.I32, f.tensor("correct").dtype());
            long[] expected = new long[n];
            for (int i = 0; i < n; i++) expected[i] = ref.correct[i];
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, f.tensor("correct").toLongArray());
            assertEquals(ref.correctCount, f.tensor("correct_count").getLong(0));
            assertClose(new double[] {ref.loss}, f.tensor("loss").toDoubleArray(), "loss");
        }
        Path plain = dir.resolve("plain.safetensors");
        assertEquals(0, CliRun.of("loss", "--input", in.toString(), "--output", plain.toString(), "--device", "cpu").status());
        try (SafetensorsFile f = SafetensorsFile.open(plain)) {
            assertFalse(f.contains("correct") || f.contains("correct_count"), "no accuracy outputs without --accuracy");
        }
    }

    private double[][] gradients(Path in, String name, String... options) throws Exception {
        Path out = dir.resolve(name + ".safetensors");
        List<String> args = new ArrayList<>(List.of("loss", "--input", in.toString(), "--output", out.toString(), "--device", "cpu",
                "--filter-eps", "0.1", "--reduction", "sum"));
        args.addAll(List.of(options));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, run.status(), run.err());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            return new double[][] {f.tensor("dE").toDoubleArray(), f.tensor("dC").toDoubleArray(), f.tensor("dbias").toDoubleArray()};
        }
    }

    /**
     * --no-filter-c-grad: dC and dbias as cce-exact writes them (to f32 rounding), dE as cce writes it
     * with both filters (bit for bit); --no-filter-e-grad the other way round. A spread softmax (2000
     * entries, logits of unit variance, so most probabilities near 1/2000) and --filter-eps 0.1 make
     * the filter visible on both sides (checked).
     */
    @Test
    void eachGradientsFilterIsSwitchedOffAlone() throws Exception {
        int rows = 64, vocab = 2000, dim = 16;
        long[] t = new long[rows];
        for (int i = 0; i < rows; i++) t[i] = rnd.nextInt(vocab);
        var map = new java.util.LinkedHashMap<String, Tensor>();
        map.put("E", tensor(gaussian(rows, dim, 0.5)));
        map.put("C", tensor(gaussian(vocab, dim, 0.5)));
        map.put("targets", Tensor.of(t, rows));
        map.put("bias", tensor(gaussian(1, vocab, 0.1)).reshape(vocab));
        Path in = write("spread.safetensors", map);
        double[][] filtered = gradients(in, "filtered");
        double[][] exact = gradients(in, "exact", "--impl", "cce-exact");
        double[][] fullC = gradients(in, "fullC", "--no-filter-c-grad");
        double[][] fullE = gradients(in, "fullE", "--no-filter-e-grad");
        for (int side = 0; side < 2; side++) {
            double err = RelativeError.of(exact[side], filtered[side]);
            assertTrue(err > 1e-4, "filtering must show on side " + side + ": only " + err);
        }
        RelativeError.assertClose(exact[1], fullC[1], 1e-6, "dC with --no-filter-c-grad vs cce-exact");
        RelativeError.assertClose(exact[2], fullC[2], 1e-6, "dbias with --no-filter-c-grad vs cce-exact");
        org.junit.jupiter.api.Assertions.assertArrayEquals(filtered[0], fullC[0], "dE keeps its filter");
        RelativeError.assertClose(exact[0], fullE[0], 1e-6, "dE with --no-filter-e-grad vs cce-exact");
        org.junit.jupiter.api.Assertions.assertArrayEquals(filtered[1], fullE[1], "dC keeps its filter");
    }

    private CliRun refused(Path in, String... extra) {
        Path out = dir.resolve("never.safetensors");
        List<String> args = new ArrayList<>(List.of("loss", "--input", in.toString(), "--output", out.toString(), "--device", "cpu"));
        args.addAll(List.of(extra));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(2, run.status(), "exit status for " + args + ": " + run.err());
        assertFalse(Files.exists(out), "no output after an error");
        return run;
    }

    @Test
    void refusesBadInputsWithOneLineAndStatusTwo() throws Exception {
        assertTrue(refused(dir.resolve("missing.safetensors")).errorLine().contains("no such file"));

        Path noC = write("noC.safetensors", Map.of("E", tensor(e), "targets", Tensor.of(targets, n)));
        assertTrue(refused(noC).errorLine().contains("no tensor named 'C'"));

        Path badD = write("badD.safetensors", Map.of("E", tensor(e), "C", tensor(gaussian(v, d + 1, 1)), "targets", Tensor.of(targets, n)));
        assertTrue(refused(badD).errorLine().contains("disagree on D"));

        long[] out = targets.clone();
        out[5] = v;
        Path badTarget = write("badTarget.safetensors", Map.of("E", tensor(e), "C", tensor(c), "targets", Tensor.of(out, n)));
        assertTrue(refused(badTarget).errorLine().contains("target " + v + " at position 5 is outside [0, " + v + ")"));

        double[][] nan = e.clone();
        nan[2] = nan[2].clone();
        nan[2][4] = Double.NaN;
        Path withNaN = write("nan.safetensors", Map.of("E", tensor(nan), "C", tensor(c), "targets", Tensor.of(targets, n)));
        assertTrue(refused(withNaN).errorLine().contains("E holds NaN at [2, 4]"));

        double[][] inf = c.clone();
        inf[7] = inf[7].clone();
        inf[7][0] = Double.POSITIVE_INFINITY;
        Path withInf = write("inf.safetensors", Map.of("E", tensor(e), "C", tensor(inf), "targets", Tensor.of(targets, n)));
        assertTrue(refused(withInf).errorLine().contains("C holds Infinity at [7, 0]"));

        Path empty = write("empty.safetensors", Map.of("E", Tensor.zeros(DType.F32, 0, d), "C", tensor(c), "targets", Tensor.zeros(DType.I64, 0)));
        assertTrue(refused(empty).errorLine().contains("hold no rows"));

        Path floatTargets = write("ft.safetensors", Map.of("E", tensor(e), "C", tensor(c), "targets", Tensor.zeros(DType.F32, n)));
        assertTrue(refused(floatTargets).errorLine().contains("int32 or int64"));

        Path garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        String line = refused(garbage).errorLine();
        assertTrue(line.startsWith("loss: error: ") && line.contains("garbage.safetensors"), line);

        Path good = input(false);
        assertTrue(refused(good, "--reduction", "median").errorLine().contains("unknown reduction 'median'"));
    }

    @Test
    void optionsAreRefusedUnderTheirOwnNames() throws Exception {
        Path good = input(false);
        String[][] cases = {
            {"--label-smoothing", "1.5", "loss: error: --label-smoothing must be in [0, 1], got 1.5"},
            {"--filter-eps", "-1", "loss: error: --filter-eps must be >= 0 (or NaN for automatic), got -1.0"},
            {"--z-loss", "-0.5", "loss: error: --z-loss must be a finite number >= 0, got -0.5"},
            {"--softcap", "-2", "loss: error: --softcap must be a finite number >= 0, got -2.0"},
            {"--shift", "-1", "loss: error: --shift must be >= 0, got -1"},
        };
        for (String[] c : cases) assertEquals(c[2], refused(good, c[0], c[1]).errorLine());
    }

    @Test
    void anOutputThatIsTheInputIsRefusedAndTheInputKept() throws Exception {
        Path in = input(false);
        byte[] before = Files.readAllBytes(in);
        Path link = Files.createSymbolicLink(dir.resolve("link.safetensors"), in.getFileName());
        for (Path out : List.of(in, link)) {
            CliRun run = CliRun.of("loss", "--input", in.toString(), "--output", out.toString(), "--device", "cpu");
            assertEquals(2, run.status(), run.err());
            assertTrue(run.errorLine().contains("--output " + out + " is the --input " + in), run.err());
            assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(in)), "the input is untouched");
        }
        assertTrue(Files.isSymbolicLink(link));
    }

    @Test
    void standardOutputAndFoldersAreRefusedAsSafetensorsOutputs() throws Exception {
        Path in = input(false);
        CliRun dash = CliRun.of("loss", "--input", in.toString(), "--output", "-", "--device", "cpu");
        assertEquals(2, dash.status(), dash.err());
        assertTrue(dash.errorLine().contains("--output -: standard output takes text only"), dash.err());
        assertFalse(Files.exists(Path.of("-")), "no file named -");
        Path folder = Files.createDirectory(dir.resolve("results"));
        CliRun toFolder = CliRun.of("loss", "--input", in.toString(), "--output", folder.toString(), "--device", "cpu");
        assertEquals(2, toFolder.status(), toFolder.err());
        assertTrue(toFolder.errorLine().contains("--output " + folder + " is a directory"), toFolder.err());
        assertTrue(Files.isDirectory(folder));
        CliRun fromFolder = CliRun.of("loss", "--input", folder.toString(), "--output", dir.resolve("o.safetensors").toString(), "--device", "cpu");
        assertEquals(2, fromFolder.status(), fromFolder.err());
        assertTrue(fromFolder.errorLine().contains("--input " + folder + ": a folder, not a file"), fromFolder.err());
    }

    @Test
    void cudaWithoutAGpuIsAClearError() throws Exception {
        Path in = input(false);
        CliRun run = CliRun.of("loss", "--input", in.toString(), "--output", dir.resolve("o.safetensors").toString(), "--device", "cuda");
        org.junit.jupiter.api.Assumptions.assumeTrue(run.status() != 0, "a CUDA device is usable here");
        assertEquals(2, run.status(), run.err());
        assertTrue(run.errorLine().contains("cuda"), run.err());
    }

    @Test
    void verboseShowsTheDeviceChoiceAndTheTrace() throws Exception {
        CliRun run = CliRun.of("loss", "--input", dir.resolve("nope").toString(), "--output", dir.resolve("o").toString(),
                "--device", "cpu", "--verbose");
        assertEquals(2, run.status());
        assertTrue(run.err().contains("device: cpu"), run.err());
        assertTrue(run.err().contains("\tat "), "stack trace with --verbose");
    }

    private static double[] flat(double[][] m) {
        double[] out = new double[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) System.arraycopy(m[i], 0, out, i * m[0].length, m[0].length);
        return out;
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        RelativeError.assertClose(expected, actual, 1e-4, what);
    }
}
