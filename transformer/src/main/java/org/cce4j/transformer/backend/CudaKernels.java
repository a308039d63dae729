package org.cce4j.transformer.backend;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.CudaKernel;
import org.cce4j.core.tensor.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * The transformer's CUDA kernels (sources under org/cce4j/transformer/cuda/, compiled by NVRTC on first
 * use and cached by cce-core), looked up by file, storage dtype and kernel name, and launched with the
 * grid shapes they expect: element-wise kernels grid-stride over 256-thread blocks, row kernels one
 * warp per row.
 */
final class CudaKernels {
    static final String DIR = "/org/cce4j/transformer/cuda/";
    static final int THREADS = 256;

    private final CudaDevice dev;

    CudaKernels(CudaDevice dev) {
        this.dev = dev;
    }

    CudaDevice device() {
        return dev;
    }

    /** Kernel {@code name} of {@code file} for storage dtype f32 or bf16, with extra "NAME=VALUE" defines. */
    CudaKernel kernel(String file, DType storage, String name, String... defines) {
        List<String> d = new ArrayList<>();
        d.add("CCE_ELEM=" + elem(storage));
        d.addAll(List.of(defines));
        return dev.module(CudaKernels.class, DIR, file, d).kernel(name);
    }

    static int elem(DType storage) {
        return switch (storage) {
            case F32 -> 0;
            case BF16 -> 1;
            default -> throw new IllegalArgumentException("the CUDA backend stores f32 or bf16, not " + storage);
        };
    }

    /** Blocks of {@link #THREADS} covering n elements (the kernels loop over the rest). */
    static int elementBlocks(long n) {
        return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, 1L << 20));
    }

    /**
     * Blocks of {@link #THREADS} for a grid-stride reduction into one scalar: at most 1024 (about one
     * full wave on an H100/H200), so that the blocks' atomics on that one address, which the memory
     * system serializes, stay few next to the loads.
     */
    static int reductionBlocks(long n) {
        return Math.min(elementBlocks(n), 1024);
    }

    /** Blocks of 8 warps, one warp per row. */
    static int warpBlocks(long rows) {
        long b = (rows + 7) / 8;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException(rows + " rows are too many for one launch");
        return (int) Math.max(1, b);
    }

    /** A column-wise reduction over [rows, cols]: threads per column block, rows split in chunks (≤ 2048 of them). */
    record ColumnGrid(int threads, int blocksX, int blocksY, int chunk) {
        static ColumnGrid of(int rows, int cols) {
            int threads = Math.min(THREADS, Math.max(32, (cols + 31) / 32 * 32));
            int chunk = Math.max(16, (rows + 2047) / 2048);
            return new ColumnGrid(threads, (cols + threads - 1) / threads, Math.max(1, (rows + chunk - 1) / chunk), chunk);
        }
    }
}
