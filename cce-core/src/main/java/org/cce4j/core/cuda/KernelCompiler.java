package org.cce4j.core.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a kernel source from the jar ({@code org/cce4j/core/cuda/kernels/*.cu}, with the {@code .cuh}
 * headers it includes) into a cubin for one architecture, through NVRTC, and keeps the result on
 * disk: the key is a SHA-256 of the sources, the options, the architecture and the NVRTC version, so
 * a changed kernel or compiler never reuses a stale binary. The cache folder is
 * {@code $CCE4J_KERNEL_CACHE}, else {@code ~/.cache/cce4j/kernels}; when it cannot be written the
 * compile simply happens again next time.
 */
final class KernelCompiler {
    static final String RESOURCE_DIR = "/org/cce4j/core/cuda/kernels/";
    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([^\"]+)\"", Pattern.MULTILINE);

    private KernelCompiler() {}

    /** The cubin of {@code file} compiled with {@code defines} ("NAME=VALUE") for {@code arch} ("sm_90a"). */
    static byte[] cubin(String file, List<String> defines, String arch) {
        return cubin(KernelCompiler.class, RESOURCE_DIR, file, defines, arch);
    }

    /**
     * The same for a source of another module: {@code file} is read from {@code resourceDir} through
     * {@code anchor}'s class loader; its headers are looked up there first, then among ours
     * (so other modules' kernels can include cce_common.cuh).
     */
    static byte[] cubin(Class<?> anchor, String resourceDir, String file, List<String> defines, String arch) {
        String source = resource(anchor, resourceDir, file);
        Map<String, String> headers = new LinkedHashMap<>();
        collectHeaders(anchor, resourceDir, source, headers);
        Nvrtc nvrtc = Nvrtc.get();
        List<String> options = new ArrayList<>();
        options.add("--gpu-architecture=" + arch);
        options.add("--std=c++17");
        options.add("-DCCE_NVRTC=1");
        if (arch.equals("sm_90a")) options.add("-DCCE_SM90A=1");
        for (String d : defines) options.add("-D" + d);
        String key = key(source, headers, options, nvrtc.version());
        Path dir = cacheDir();
        String stem = file.replaceAll("\\.cu$", "");
        Path cached = dir == null ? null : dir.resolve(stem + "-" + arch + "-" + key.substring(0, 24) + ".cubin");
        if (cached != null && Files.isRegularFile(cached)) {
            try {
                return Files.readAllBytes(cached);
            } catch (IOException ignored) {
                // compile again
            }
        }
        byte[] bin = nvrtc.compile(source, file, headers, options);
        if (cached != null) {
            try {
                Files.createDirectories(dir);
                Path tmp = Files.createTempFile(dir, stem, ".tmp");
                Files.write(tmp, bin);
                Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException ignored) {
                // a cache we cannot write is only slower
            }
        }
        return bin;
    }

    static String resource(String name) {
        return resource(KernelCompiler.class, RESOURCE_DIR, name);
    }

    private static String resource(Class<?> anchor, String dir, String name) {
        InputStream found = anchor.getResourceAsStream(dir + name);
        if (found == null && anchor != KernelCompiler.class) found = KernelCompiler.class.getResourceAsStream(RESOURCE_DIR + name);
        try (InputStream in = found) {
            if (in == null) throw new IllegalStateException("kernel source " + dir + name + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("reading kernel source " + name, e);
        }
    }

    private static void collectHeaders(Class<?> anchor, String dir, String source, Map<String, String> headers) {
        Matcher m = INCLUDE.matcher(source);
        while (m.find()) {
            String h = m.group(1);
            if (headers.containsKey(h)) continue;
            String text = resource(anchor, dir, h);
            headers.put(h, text);
            collectHeaders(anchor, dir, text, headers);
        }
    }

    private static String key(String source, Map<String, String> headers, List<String> options, String version) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(source.getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, String> h : headers.entrySet()) {
                md.update(h.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(h.getValue().getBytes(StandardCharsets.UTF_8));
            }
            md.update(String.join("\u0000", options).getBytes(StandardCharsets.UTF_8));
            md.update(version.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path cacheDir() {
        String env = System.getenv("CCE4J_KERNEL_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        String home = System.getProperty("user.home");
        return home == null ? null : Path.of(home, ".cache", "cce4j", "kernels");
    }
}
