package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.tensor.TensorChecks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * bench-loss --inputs FILE: the benchmark's inputs from a safetensors file (what tools/reference/cce_loss_bench.py
 * --save writes), so that cce4j and PyTorch time the very same values: E [N, D] and C [V, D] in f32, bf16 or f16,
 * targets [N] int32/int64 in [0, V). Copied into host tensors of {@code dtype} (the file's own when null), so
 * the file is closed before the timing; every rule broken is one line naming the option and the file.
 */
final class BenchInputFile {
    private BenchInputFile() {}

    static CceInputs read(Path path, DType dtype) throws IOException {
        String where = "--inputs " + path;
        InputFiles.requireFile("--inputs", path);
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            for (String name : new String[] {"E", "C", "targets"}) {
                if (!file.contains(name)) {
                    throw new InvalidInputException(where + ": no tensor '" + name + "' (needs E [N, D], C [V, D], targets [N])");
                }
            }
            Tensor e = file.tensor("E"), c = file.tensor("C"), t = file.tensor("targets");
            if (e.rank() != 2) throw new InvalidInputException(where + ": E must have shape [N, D], got " + Shapes.toString(e.shape()));
            long n = e.dim(0), d = e.dim(1);
            if (c.rank() != 2 || c.dim(1) != d) {
                throw new InvalidInputException(where + ": C must have shape [V, " + d + "] (E is " + Shapes.toString(e.shape())
                        + "), got " + Shapes.toString(c.shape()));
            }
            if (t.rank() != 1 || t.dim(0) != n) {
                throw new InvalidInputException(where + ": targets must have shape [" + n + "], got " + Shapes.toString(t.shape()));
            }
            requireFloat(where, e, "E");
            requireFloat(where, c, "C");
            if (t.dtype() != DType.I32 && t.dtype() != DType.I64) {
                throw new InvalidInputException(where + ": targets must be int32 or int64, got " + t.dtype().shortName());
            }
            long v = c.dim(0);
            for (long i = 0; i < n; i++) {
                long x = t.getLong(i);
                if (x < 0 || x >= v) throw new InvalidInputException(where + ": targets[" + i + "] = " + x + " is outside [0, " + v + ")");
            }
            if ((long) n * d > Integer.MAX_VALUE - 8 || v * d > Integer.MAX_VALUE - 8) {
                throw new InvalidInputException(where + ": E or C has more than 2^31 - 9 elements");
            }
            TensorChecks.requireFinite(e, where + ": E");
            TensorChecks.requireFinite(c, where + ": C");
            DType to = dtype == null ? e.dtype() : dtype;
            Tensor he = e.to(to);
            Tensor hc = c.to(to);
            Tensor ht = t.to(DType.I64);
            return CceInputs.of(he, hc, ht);
        }
    }

    private static void requireFloat(String where, Tensor t, String name) {
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16) {
            throw new InvalidInputException(where + ": " + name + " must be f32, bf16 or f16, got " + d.shortName());
        }
    }

    /** The shape a file holds, for a mismatch with --n, --d or --v. */
    static String shapeOf(CceInputs in) {
        return "E " + Arrays.toString(in.embeddings().shape()) + ", C " + Arrays.toString(in.classifier().shape());
    }
}
