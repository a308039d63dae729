package org.cce4j.trainer.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Commands run the way a user runs them, in their own process: the launcher script, {@code java -jar},
 * a JVM with this module's class path. Shell-level behaviour (exit statuses, what reaches stderr and
 * in which order, /dev/stdout, an old Java) can only be seen from outside the JVM.
 */
final class Processes {
    private Processes() {}

    /** What a process did: its exit status, its standard output and standard error. */
    record Result(int status, String out, String err) {
        String errorLine() {
            String e = err.strip();
            if (e.contains("\n") || e.contains("\tat ")) throw new AssertionError("expected one line on stderr, got:\n" + err);
            return e;
        }
    }

    /** Runs {@code command} in {@code dir} with {@code env} added, standard input empty. */
    static Result run(Path dir, Map<String, String> env, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("cce4j-test", ".stdout");
        Path err = Files.createTempFile("cce4j-test", ".stderr");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** A bash command line, with {@code args} as $1, $2, ... */
    static Result bash(Path dir, Map<String, String> env, String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", script, "bash"));
        cmd.addAll(List.of(args));
        return run(dir, env, cmd);
    }

    /** The java of the JDK running the tests (Java 25). */
    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** This module's class path as the tests see it: its classes and every dependency. */
    static String classPath() {
        return System.getProperty("java.class.path");
    }

    /**
     * A jar that holds no classes but names them (Class-Path), with {@code mainClass} and the
     * manifest attributes trainer.jar has: the built jar's behaviour, from the classes this test
     * run compiled, with no packaging step.
     */
    static Path manifestJar(Path jar, String mainClass) throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (mainClass != null) a.put(Attributes.Name.MAIN_CLASS, mainClass);
        a.putValue("Enable-Native-Access", "ALL-UNNAMED");
        List<String> urls = new ArrayList<>();
        for (String entry : classPath().split(java.io.File.pathSeparator)) {
            if (!entry.isEmpty()) urls.add(Path.of(entry).toAbsolutePath().toUri().toString());   // folders end in '/'
        }
        a.put(Attributes.Name.CLASS_PATH, String.join(" ", urls));
        Files.createDirectories(jar.getParent());
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(os, m)) {
            j.flush();
        }
        return jar;
    }

    /** A jar of {@code classes} (class name → class file bytes). */
    static Path classJar(Path jar, Map<String, byte[]> classes) throws IOException {
        Files.createDirectories(jar.getParent());
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(os)) {
            for (Map.Entry<String, byte[]> c : classes.entrySet()) {
                String path = c.getKey().replace('.', '/');
                String folder = path.substring(0, path.lastIndexOf('/') + 1);
                for (int i = folder.indexOf('/'); i >= 0; i = folder.indexOf('/', i + 1)) {
                    try {
                        j.putNextEntry(new JarEntry(folder.substring(0, i + 1)));
                        j.closeEntry();
                    } catch (java.util.zip.ZipException duplicate) {
                        // folder entry already written
                    }
                }
                j.putNextEntry(new JarEntry(path + ".class"));
                j.write(c.getValue());
                j.closeEntry();
            }
        }
        return jar;
    }

    /** Copies the repository's launcher script to {@code root}/cce4j, executable. */
    static Path launcher(Path root) throws IOException {
        Path script = Files.copy(Path.of("../cce4j"), root.resolve("cce4j"));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }
}
