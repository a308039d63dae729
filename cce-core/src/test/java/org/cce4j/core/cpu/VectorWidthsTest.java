package org.cce4j.core.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API kernels at each width the project's machines have (AVX2: 256 bits, 8 floats, 4×16
 * tiles; AVX-512: 512 bits, 16 floats, 4×64 tiles), whatever this machine has: the kernel layouts
 * depend on the width, which is fixed per JVM, so each width runs {@link GemmCheck} in a child JVM
 * started with {@code -Dcce4j.vectorBits}. A width the hardware lacks runs as plain Java: slow, the
 * same results. (CpuGemm once packed B in gemmTile's 64 columns on AVX-512 for a panel kernel that
 * computes 32: every test passed on AVX2 machines, where both are 16, and every CPU matrix product
 * was wrong on AVX-512 ones.)
 */
class VectorWidthsTest {
    @ParameterizedTest
    @ValueSource(ints = {256, 512})
    void gemmAndItsPanelKernelAreRightAtEveryWidth(int bits) throws IOException, InterruptedException {
        Path out = Files.createTempFile("cce4j-widths", ".out");
        try {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(List.of(java, "--add-modules", "jdk.incubator.vector", "-Dcce4j.vectorBits=" + bits,
                    "-Dcce4j.threads=2", "-cp", System.getProperty("java.class.path"), GemmCheck.class.getName()))
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the " + bits + "-bit check did not finish in 300 s");
            }
            String output = Files.readString(out, StandardCharsets.UTF_8);
            assertTrue(output.contains("kernels: Vector API, " + bits + "-bit"), "the child JVM did not run " + bits + "-bit kernels:\n" + output);
            assertEquals(0, p.exitValue(), output);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
