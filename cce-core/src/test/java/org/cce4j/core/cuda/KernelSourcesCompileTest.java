package org.cce4j.core.cuda;

import org.cce4j.core.testing.Nvcc;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compiles every kernel source with nvcc for sm_80 and sm_90a, each element type, and with and
 * without CCE_ACCURACY where a source has that switch (and with CCE_ENTRIES=1 where it has that one), so that a syntax error fails the build on
 * machines without a GPU. NVRTC compiles the same text at run time; the sources include nothing
 * but their own headers. Skipped where nvcc is not on the PATH.
 */
class KernelSourcesCompileTest {
    private static final List<String> ARCHS = List.of("-gencode=arch=compute_80,code=sm_80",
            "-gencode=arch=compute_90a,code=sm_90a");

    @Test
    void everyKernelCompilesWithNvccForAmpereAndHopper() throws Exception {
        Path nvcc = Nvcc.find();
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the kernel sources are not compiled by this test");
        Path dir = kernelDir();
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
        assertFalse(sources.isEmpty(), "no .cu files in " + dir);
        List<Nvcc.Job> jobs = new ArrayList<>();
        for (Path src : sources) {
            // the forwards with accuracy are the same sources built with CCE_ACCURACY=1: both builds must compile
            List<String> variants = Files.readString(src).contains("#if CCE_ACCURACY") ? List.of("0", "1") : List.of("0");
            for (String arch : ARCHS) {
                for (int elem = 0; elem <= 2; elem++) {
                    for (String accuracy : variants) {
                        jobs.add(new Nvcc.Job(List.of(arch, "-DCCE_ELEM=" + elem, "-DCCE_ACCURACY=" + accuracy, "-I", dir.toString()), src));
                    }
                    // the entry-list backward's logits kernel is the wgmma forward built with CCE_ENTRIES=1
                    if (Files.readString(src).contains("#if CCE_ENTRIES")) {
                        jobs.add(new Nvcc.Job(List.of(arch, "-DCCE_ELEM=" + elem, "-DCCE_ENTRIES=1", "-I", dir.toString()), src));
                    }
                }
            }
        }
        Nvcc.assertAllCompile(nvcc, jobs);
    }

    private static Path kernelDir() throws URISyntaxException {
        URL url = KernelSourcesCompileTest.class.getResource(KernelCompiler.RESOURCE_DIR + "cce_common.cuh");
        if (url == null || !"file".equals(url.getProtocol())) {
            // running from a jar: compile the sources of the checkout
            return Path.of("src/main/resources/org/cce4j/core/cuda/kernels").toAbsolutePath();
        }
        return Path.of(url.toURI()).getParent();
    }
}
