package org.cce4j.trainer.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code ./cce4j} script itself, run as a user runs it, in a copy of the repository's layout whose
 * trainer.jar names this test run's classes (so nothing is packaged, and the script finds nothing to
 * build) and whose examples jar holds one program, Echo, compiled here. What is checked is the
 * script's own work: stderr without the JVM's incubator warning and complete before the exit status,
 * the exit statuses, {@code example} through the trainer's command, JAVA_OPTS, signals passed on, and
 * a build whose output has no colour codes.
 */
class LauncherTest {
    @TempDir
    Path root;

    private Path cce4j;
    private final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void layout() throws Exception {
        cce4j = Processes.launcher(root);
        Processes.manifestJar(root.resolve("trainer/target/trainer.jar"), "org.cce4j.trainer.cli.JavaVersionCheck");
        Processes.classJar(root.resolve("examples/target/examples-0.1.0-SNAPSHOT.jar"), Map.of("org.cce4j.examples.Echo", echoProgram()));
        env.put("JAVA_HOME", System.getProperty("java.home"));
    }

    /** org.cce4j.examples.Echo: prints its arguments. */
    private byte[] echoProgram() throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Assumptions.assumeTrue(javac != null, "no Java compiler in this runtime");
        Path src = Files.createDirectories(root.resolve("echo-src/org/cce4j/examples")).resolve("Echo.java");
        Files.writeString(src, """
                package org.cce4j.examples;
                public final class Echo {
                    public static void main(String[] args) { System.out.println("echo " + String.join(" ", args)); }
                }
                """);
        Path classes = Files.createDirectories(root.resolve("echo-classes"));
        assertEquals(0, javac.run(null, null, null, "-d", classes.toString(), src.toString()));
        return Files.readAllBytes(classes.resolve("org/cce4j/examples/Echo.class"));
    }

    private Processes.Result cce4j(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(cce4j.toString()));
        cmd.addAll(List.of(args));
        return Processes.run(root, env, cmd);
    }

    @Test
    void anErrorIsOneLineAndArrivesBeforeTheExitStatus() throws Exception {
        for (int i = 0; i < 3; i++) {   // a background filter would lose this race now and then
            Processes.Result r = Processes.bash(root, env, "\"$1\" demo loss --n -1 2>&1; echo \"exit $?\"", cce4j.toString());
            assertEquals("demo loss: error: invalid value for --n: must be positive, got -1 (see 'cce4j demo loss --help')\nexit 2\n", r.out());
        }
    }

    @Test
    void theVectorApiIsOnAndStderrStaysQuiet() throws Exception {
        Processes.Result r = cce4j("--version");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err(), "no incubator warning");
        assertTrue(r.out().contains("SIMD on"), r.out());
    }

    @Test
    void helpIsASubcommandAndListsEveryCommand() throws Exception {
        Processes.Result help = cce4j("help");
        Processes.Result dashHelp = cce4j("--help");
        assertEquals(0, help.status(), help.err());
        assertEquals(dashHelp.out(), help.out());
        for (String c : List.of("demo", "loss", "bench-loss", "inspect", "forward", "tokenize", "detokenize", "example", "help")) {
            assertTrue(help.out().lines().anyMatch(l -> l.startsWith("  " + c + " ")), c + " is listed:\n" + help.out());
        }
        assertEquals(cce4j("loss", "--help").out(), cce4j("help", "loss").out());
    }

    @Test
    void exampleRunsAProgramWithItsOwnArgumentsAndNamesTheOnesThereAre() throws Exception {
        Processes.Result echo = cce4j("example", "Echo", "a", "--help", "--n", "-1");
        assertEquals(0, echo.status(), echo.err());
        assertEquals("echo a --help --n -1\n", echo.out());
        assertEquals("", echo.err());

        Processes.Result nope = cce4j("example", "Nope");
        assertEquals(2, nope.status(), nope.err());
        assertEquals("example: error: no example named 'Nope'; the examples are Echo", nope.errorLine());

        Processes.Result none = cce4j("example");
        assertEquals(2, none.status(), none.err());
        assertTrue(none.errorLine().contains("NAME"), none.err());
    }

    @Test
    void javaOptsReachTheJvmAndRunningOutOfHeapIsOneLine() throws Exception {
        env.put("JAVA_OPTS", "-Xmx64m");
        Processes.Result r = cce4j("demo", "loss", "--n", "2000000");   // E alone is 2 GB
        assertEquals(2, r.status(), r.err());
        String line = r.errorLine();
        assertTrue(line.startsWith("demo loss: error: out of memory: the Java heap (at most "), line);
        assertTrue(line.contains("lower --n or --v, or raise the heap: JAVA_OPTS=-Xmx"), line);
    }

    @Test
    void aTermSentToTheLauncherStopsTheJvm() throws Exception {
        String marker = "cce4j.test.marker=" + UUID.randomUUID();
        env.put("JAVA_OPTS", "-D" + marker);
        Path out = root.resolve("demo.out");
        ProcessBuilder pb = new ProcessBuilder(cce4j.toString(), "demo", "loss", "--n", "8192").directory(root.toFile())
                .redirectOutput(out.toFile()).redirectError(root.resolve("demo.err").toFile());
        pb.environment().putAll(env);
        Process launcher = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(out).contains("impl") && launcher.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertTrue(launcher.isAlive(), "the demo is still running when the TERM comes");
        launcher.destroy();                                       // SIGTERM to the launcher's process only
        assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "the launcher ends");
        for (int i = 0; i < 100 && jvmsWith(marker) > 0; i++) Thread.sleep(100);
        assertEquals(0, jvmsWith(marker), "no JVM is left running");
    }

    /** The JVMs this test started (by the marker in their command line). */
    private static long jvmsWith(String marker) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(marker)).orElse(false))
                .count();
    }

    @Test
    void theBuildRunsWithoutTestsAndItsOutputHasNoColourCodes() throws Exception {
        Path bin = Files.createDirectories(root.resolve("fake-bin"));
        Path mvn = bin.resolve("mvn");
        Files.writeString(mvn, """
                #!/usr/bin/env bash
                echo "$@" > "%s"
                printf '\\033[1;34m[INFO]\\033[m Compiling 12 source files\\n\\033[0m\\033[0m'
                printf '\\033[1;33m[WARNING]\\033[m on stderr\\n' >&2
                """.formatted(root.resolve("mvn-args")));
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = root.resolve("trainer/target/trainer.jar");
        Files.setLastModifiedTime(jar, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
        Files.createDirectories(root.resolve("trainer/src/main/java"));
        Files.writeString(root.resolve("trainer/src/main/java/Changed.java"), "// newer than the jar\n");
        env.put("PATH", bin + ":" + System.getenv("PATH"));

        Processes.Result r = cce4j("--version");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("cce4j: building"), r.err());
        assertTrue(r.err().contains("[INFO] Compiling 12 source files") && r.err().contains("[WARNING] on stderr"), r.err());
        assertFalse(r.err().contains("\u001b"), "no escape sequences: " + r.err().replace("\u001b", "ESC"));
        List<String> args = List.of(Files.readString(root.resolve("mvn-args")).strip().split(" "));
        assertTrue(args.contains("-DskipTests") && args.contains("package") && args.contains("-B"), args.toString());
    }
}
