package org.cce4j.core.cuda;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compiles every kernel source with nvcc for sm_80 and sm_90a (and each element type), so that a
 * syntax error fails the build on machines without a GPU. NVRTC compiles the same text at run time;
 * the sources include nothing but their own headers. Skipped where nvcc is not on the PATH.
 */
class KernelSourcesCompileTest {
    private static final List<String> ARCHS = List.of("-gencode=arch=compute_80,code=sm_80",
            "-gencode=arch=compute_90a,code=sm_90a");

    private static Path nvcc() {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    @Test
    void everyKernelCompilesWithNvccForAmpereAndHopper() throws Exception {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the kernel sources are not compiled by this test");
        Path dir = kernelDir();
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
        assertFalse(sources.isEmpty(), "no .cu files in " + dir);
        Path out = Files.createTempDirectory("cce4j-nvcc");
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        try {
            List<Future<String>> jobs = new ArrayList<>();
            for (Path src : sources) {
                for (String arch : ARCHS) {
                    for (int elem = 0; elem <= 2; elem++) {
                        List<String> cmd = List.of(nvcc.toString(), "-std=c++17", arch, "-cubin", "-DCCE_ELEM=" + elem,
                                "-I", dir.toString(), "-o", out.resolve(src.getFileName() + "." + elem + ".cubin").toString(),
                                src.toString());
                        jobs.add(pool.submit(() -> run(cmd)));
                    }
                }
            }
            List<String> failures = new ArrayList<>();
            for (Future<String> f : jobs) {
                String r = f.get();
                if (r != null) failures.add(r);
            }
            assertEquals(List.of(), failures, "nvcc failures");
        } finally {
            pool.shutdownNow();
            try (Stream<Path> s = Files.list(out)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(out);
        }
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        return code == 0 ? null : String.join(" ", cmd) + " exited " + code + ":\n" + output;
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
