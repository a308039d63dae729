package org.cce4j.core.cuda;

import org.cce4j.core.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS ({@code libcublas.so.13}, else {@code .12}) through FFM, just what the materialized
 * baseline and the transformer's linear layers need: a handle bound to our stream and
 * {@code cublasGemmEx} with f32 accumulation.
 * cuBLAS is column-major; {@link #gemmRowMajor} hides that for row-major operands.
 */
public final class Cublas {
    /** cudaDataType values. */
    static final int R_32F = 0, R_16F = 2, R_16BF = 14;
    private static final int OP_N = 0, OP_T = 1;
    private static final int COMPUTE_32F = 68;
    private static final int GEMM_DEFAULT = -1;

    private static volatile Object lib;

    private final MethodHandle gemmEx, destroy, statusName;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alphaBeta;

    private record Functions(NativeLibraries.Loaded lib, MethodHandle create, MethodHandle destroy, MethodHandle setStream,
                             MethodHandle gemmEx, MethodHandle statusName) {}

    private static Functions functions() {
        Object f = lib;
        if (f == null) {
            synchronized (Cublas.class) {
                f = lib;
                if (f == null) {
                    try {
                        NativeLibraries.Loaded l = NativeLibraries.load("cuBLAS (libcublas.so.13 or .12)",
                                List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so"), List.of("libcublasLt.so"));
                        f = new Functions(l,
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cublasCreate_v2"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cublasDestroy_v2"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "cublasSetStream_v2"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG,
                                        JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), false, "cublasGemmEx"),
                                l.bindOptional(FunctionDescriptor.of(ADDRESS, JAVA_INT), false, "cublasGetStatusName").orElse(null));
                    } catch (CudaException e) {
                        f = e;
                    }
                    lib = f;
                }
            }
        }
        if (f instanceof CudaException e) throw new CudaUnavailableException(e.getMessage(), e);
        return (Functions) f;
    }

    Cublas(MemorySegment stream) {
        Functions f = functions();
        gemmEx = f.gemmEx();
        destroy = f.destroy();
        statusName = f.statusName();
        alphaBeta = arena.allocate(JAVA_FLOAT, 2);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            check((int) f.create().invokeExact(h), "cublasCreate");
            handle = h.get(ADDRESS, 0);
            check((int) f.setStream().invokeExact(handle, stream), "cublasSetStream");
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    private void check(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: " + name(status) + " (" + status + ")");
    }

    private String name(int status) {
        if (statusName != null) {
            try {
                return ((MemorySegment) statusName.invokeExact(status)).reinterpret(128).getString(0);
            } catch (Throwable ignored) {
                // fall through to the table
            }
        }
        return switch (status) {
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            default -> "cublasStatus " + status;
        };
    }

    /**
     * Row-major {@code Y[m×n] = alpha · op(A) · op(B) + beta · Y}, f32 accumulation, where op(A) is
     * [m×k] (A stored [m×k], or [k×m] when {@code transA}) and op(B) is [k×n] (stored [k×n], or [n×k]
     * when {@code transB}). Leading dimensions are the stored row lengths. Synchronized: alpha and beta
     * pass through one host buffer of this handle, which cuBLAS reads during the call, so two threads
     * sharing the device (ranks of a test on one GPU) must not interleave here.
     */
    synchronized void gemmRowMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int aType, int lda,
                      long b, int bType, int ldb, float beta, long y, int yType, int ldy) {
        // row-major Y = A·B  <=>  column-major Yᵀ = Bᵀ·Aᵀ: swap the operands and the sizes
        alphaBeta.setAtIndex(JAVA_FLOAT, 0, alpha);
        alphaBeta.setAtIndex(JAVA_FLOAT, 1, beta);
        try {
            int r = (int) gemmEx.invokeExact(handle, transB ? OP_T : OP_N, transA ? OP_T : OP_N, n, m, k,
                    alphaBeta, b, bType, ldb, a, aType, lda, alphaBeta.asSlice(4), y, yType, ldy, COMPUTE_32F, GEMM_DEFAULT);
            check(r, "cublasGemmEx(" + m + "x" + n + "x" + k + ")");
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /**
     * {@link #gemmRowMajor} for other modules, with the element types as dtypes (f32, bf16, f16; Y may
     * be f32 while A and B are bf16, which is how f32 gradients are accumulated with beta = 1).
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, DType aType, int lda,
                     long b, DType bType, int ldb, float beta, long y, DType yType, int ldy) {
        gemmRowMajor(transA, transB, m, n, k, alpha, a, dataType(aType), lda, b, dataType(bType), ldb, beta, y, dataType(yType), ldy);
    }

    private static int dataType(DType t) {
        return switch (t) {
            case F32 -> R_32F;
            case BF16 -> R_16BF;
            case F16 -> R_16F;
            default -> throw new IllegalArgumentException("cuBLAS gemm on " + t + " is not supported");
        };
    }

    void close() {
        try {
            int ignored = (int) destroy.invokeExact(handle);
        } catch (Throwable ignored) {
            // closing at exit
        }
        arena.close();
    }
}
