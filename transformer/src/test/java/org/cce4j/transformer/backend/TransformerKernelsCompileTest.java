package org.cce4j.transformer.backend;

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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compiles the transformer's kernel sources with nvcc as NVRTC will at run time (each storage type,
 * the tensor-core attention for several head sizes, Ampere and Hopper), so that a syntax error fails
 * the build on machines without a GPU. Skipped where nvcc is not on the PATH.
 */
class TransformerKernelsCompileTest {

    private record Job(String file, String arch, List<String> defines) {}

    private static List<Job> jobs() {
        List<Job> jobs = new ArrayList<>();
        for (String arch : List.of("80", "90a")) {
            for (String file : List.of("norm.cu", "elementwise.cu", "attention_simt.cu")) {
                for (int elem = 0; elem <= 1; elem++) jobs.add(new Job(file, arch, List.of("CCE_ELEM=" + elem)));
            }
        }
        for (int hd : new int[] {16, 64, 256}) jobs.add(new Job("attention_mma.cu", "90a", List.of("CCE_ELEM=1", "HD=" + hd)));
        jobs.add(new Job("attention_mma.cu", "80", List.of("CCE_ELEM=1", "HD=128")));
        return jobs;
    }

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
    void everyKernelCompilesWithNvcc() throws Exception {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the kernel sources are not compiled by this test");
        Path ours = dir(CudaKernels.DIR + "tx_common.cuh", "src/main/resources/org/cce4j/transformer/cuda");
        Path core = dir("/org/cce4j/core/cuda/kernels/cce_common.cuh", "../cce-core/src/main/resources/org/cce4j/core/cuda/kernels");
        Path out = Files.createTempDirectory("cce4j-nvcc");
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        try {
            List<Future<String>> results = new ArrayList<>();
            int i = 0;
            for (Job j : jobs()) {
                List<String> cmd = new ArrayList<>(List.of(nvcc.toString(), "-std=c++17", "-gencode=arch=compute_" + j.arch().replace("a", "")
                        + (j.arch().endsWith("a") ? "a" : "") + ",code=sm_" + j.arch(), "-cubin", "-Werror", "all-warnings",
                        "-I", ours.toString(), "-I", core.toString(), "-o", out.resolve((i++) + ".cubin").toString()));
                for (String d : j.defines()) cmd.add("-D" + d);
                cmd.add(ours.resolve(j.file()).toString());
                results.add(pool.submit(() -> run(cmd)));
            }
            List<String> failures = new ArrayList<>();
            for (Future<String> f : results) {
                String r = f.get();
                if (r != null) failures.add(r);
            }
            assertEquals(List.of(), failures, "nvcc failures");
        } finally {
            pool.shutdownNow();
            try (var s = Files.list(out)) {
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

    /** The folder holding a resource, or the checkout's copy when the resource is inside a jar. */
    private static Path dir(String resource, String fallback) throws URISyntaxException {
        URL url = TransformerKernelsCompileTest.class.getResource(resource);
        if (url == null || !"file".equals(url.getProtocol())) return Path.of(fallback).toAbsolutePath();
        return Path.of(url.toURI()).getParent();
    }
}
