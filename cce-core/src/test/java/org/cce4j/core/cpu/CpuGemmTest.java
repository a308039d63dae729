package org.cce4j.core.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * sgemm in every transposition, ragged sizes across block edges, β = 0 and 1, against float64 and
 * (bit for bit) against the scalar kernels, with this machine's kernels; {@link VectorWidthsTest}
 * runs the same checks at the vector widths of other machines.
 */
class CpuGemmTest {
    @Test
    void matchesFloat64ProductsForEveryTransposition() {
        SplittableRandom rnd = new SplittableRandom(9);
        int[][] sizes = {{1, 1, 1}, {5, 7, 3}, {7, 6, 9}, {130, 300, 270}, {257, 33, 513}, {64, 64, 64}};
        List<String> bad = new ArrayList<>();
        for (int[] s : sizes) {
            bad.addAll(GemmCheck.gemm(rnd, s[0], s[1], s[2], CpuKernelSelector.best()));
            if (s[0] < 100) bad.addAll(GemmCheck.gemm(rnd, s[0], s[1], s[2], CpuKernelSelector.scalar()));
        }
        assertEquals("", GemmCheck.summary(bad));
    }
}
