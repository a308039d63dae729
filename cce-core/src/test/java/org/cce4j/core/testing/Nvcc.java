package org.cce4j.core.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Compiling kernel sources with nvcc in tests that need no GPU (shared by the modules that hold
 * .cu files through cce-core's test jar): every job to a throw-away cubin, in parallel, and one
 * assertion listing every failure with nvcc's output.
 */
public final class Nvcc {
    /** One nvcc run: its options (arch, -D, -I ...) and the source file. */
    public record Job(List<String> options, Path source) {}

    private Nvcc() {}

    /** nvcc on the PATH, or null. */
    public static Path find() {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    public static void assertAllCompile(Path nvcc, List<Job> jobs) throws Exception {
        Path out = Files.createTempDirectory("cce4j-nvcc");
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        try {
            List<Future<String>> results = new ArrayList<>();
            int i = 0;
            for (Job j : jobs) {
                List<String> cmd = new ArrayList<>(List.of(nvcc.toString(), "-std=c++17", "-cubin"));
                cmd.addAll(j.options());
                cmd.addAll(List.of("-o", out.resolve((i++) + ".cubin").toString(), j.source().toString()));
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
}
