package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.Cublas;
import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaKernel;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.tensor.DType;

/**
 * The CCE backward when most of the N×V gradient is above the filter (exact mode; spread-out
 * distributions such as a model early in training): chunk by chunk, three cuBLAS products and one
 * element-wise kernel, no atomics, the same result run to run.
 * <pre>
 *   for each chunk of Nc rows × Vc vocabulary entries (Nc·Vc·4 bytes of workspace, reused):
 *     S   = E[r]·C[v]ᵀ                    cuBLAS, f32 out
 *     G   = softmax part of ∂loss/∂S       cce_dense_grad, in the input type, in place over S
 *     dE[r] += gScale·G·C[v]               cuBLAS, beta = 1 into the f32 gradient
 *     dC[v] += gScale·Gᵀ·E[r]              cuBLAS, beta = 1
 *     dBias[v] += gScale·Gᵀ·1              cuBLAS (only with a bias)
 * </pre>
 * Why not the tiled kernel: each of its 64×256 tiles adds 320·D values into dE and dC with f32
 * atomics, which is what bounds it once most tiles are active; here every product runs at cuBLAS's
 * rate and the logits exist only as one bounded chunk. The one-hot part of the gradient stays with
 * {@code cce_target_backward}, as in the tiled backward.
 */
final class CceDenseBackward {
    /** Workspace for one chunk of logits; {@code CCE4J_DENSE_WORKSPACE_MB} overrides it. */
    static final long DEFAULT_WORKSPACE_BYTES = 128L << 20;
    /** The most columns cce_dense_grad holds per row (DENSE_THREADS × DENSE_PER_THREAD). */
    static final int MAX_CHUNK_VOCAB = 8192;
    static final int MAX_CHUNK_ROWS = 8192;

    private CceDenseBackward() {}

    /**
     * Rows and vocabulary entries per chunk for n rows and v entries within {@code workspaceBytes}: as
     * many rows as allowed (up to 8192), then as many entries (whole 256-entry tiles, up to 8192); a
     * workspace too small for 256 entries of every row takes fewer rows (multiples of 16) instead.
     */
    static int[] chunk(int n, int v, long workspaceBytes) {
        long rows = Math.min(n, MAX_CHUNK_ROWS);
        long cols = Math.min(Math.min(v, MAX_CHUNK_VOCAB), workspaceBytes / (4L * rows));
        if (cols < Math.min(v, 256)) {
            cols = Math.min(v, 256);
            rows = Math.min(rows, Math.max(16, workspaceBytes / (4L * cols) / 16 * 16));
        } else if (cols < v) {
            cols = cols / 256 * 256;
        }
        return new int[] {(int) rows, (int) cols};
    }

    /** The workspace for one chunk: {@code CCE4J_DENSE_WORKSPACE_MB}, else {@link #DEFAULT_WORKSPACE_BYTES}. */
    static long workspaceBytes() {
        String env = System.getenv("CCE4J_DENSE_WORKSPACE_MB");
        if (env != null && !env.isBlank()) return Math.max(1L, Long.parseLong(env.trim())) << 20;
        return DEFAULT_WORKSPACE_BYTES;
    }

    /**
     * Adds the softmax part of the gradient of every row and entry into dE, dC and dBias (any of them
     * 0 to skip it). {@code scale} holds each row's upstream × weight (0 for rows that do not count),
     * {@code gScale} the largest |scale| (G is stored divided by it, so f16 keeps its range).
     */
    static void run(CudaDevice dev, CceKernels k, DType elem, long e, long c, long bias, long lse, long scale,
                    int n, int v, int d, float softcap, float zLoss, float alphaOverV, float gScale,
                    long dE, long dC, long dB, long workspaceBytes) {
        int[] ch = chunk(n, v, workspaceBytes);
        int rowsPer = ch[0], colsPer = ch[1];
        int esz = elem.byteSize();
        int ldG = colsPer * 4 / esz; // G's rows sit at the start of S's f32 rows
        Cublas blas = dev.cublas();
        CudaKernel grad = k.dense.kernel("cce_dense_grad");
        try (DeviceBuffer s = dev.buffer(4L * rowsPer * colsPer);
             DeviceBuffer ones = dB != 0 ? dev.buffer(4L * rowsPer) : null) {
            if (ones != null) dev.fill32(ones.pointer(), onesBits(elem), esz == 4 ? rowsPer : (rowsPer + 1) / 2);
            for (int v0 = 0; v0 < v; v0 += colsPer) {
                int cols = Math.min(colsPer, v - v0);
                long cv = c + (long) v0 * d * esz;
                for (int r0 = 0; r0 < n; r0 += rowsPer) {
                    int rows = Math.min(rowsPer, n - r0);
                    long er = e + (long) r0 * d * esz;
                    blas.gemm(false, true, rows, cols, d, 1f, er, elem, d, cv, elem, d, 0f, s.pointer(), DType.F32, colsPer);
                    grad.launch(rows, 1, 256, 0, s.pointer(), cols, colsPer, r0, v0, bias, lse, scale, softcap, zLoss,
                            alphaOverV, 1f / gScale);
                    if (dE != 0) {
                        blas.gemm(false, false, rows, d, cols, gScale, s.pointer(), elem, ldG, cv, elem, d, 1f,
                                dE + 4L * r0 * d, DType.F32, d);
                    }
                    if (dC != 0) {
                        blas.gemm(true, false, cols, d, rows, gScale, s.pointer(), elem, ldG, er, elem, d, 1f,
                                dC + 4L * v0 * d, DType.F32, d);
                    }
                    if (dB != 0) {
                        blas.gemm(true, false, cols, 1, rows, gScale, s.pointer(), elem, ldG, ones.pointer(), elem, 1, 1f,
                                dB + 4L * v0, DType.F32, 1);
                    }
                }
            }
        }
    }

    /** 1.0 in the element type, twice over for 2-byte types (one 32-bit word holds two). */
    private static int onesBits(DType elem) {
        return switch (elem) {
            case F32 -> Float.floatToRawIntBits(1f);
            case BF16 -> 0x3f803f80;
            case F16 -> 0x3c003c00;
            default -> throw new IllegalArgumentException("no dense CCE backward for " + elem);
        };
    }
}
