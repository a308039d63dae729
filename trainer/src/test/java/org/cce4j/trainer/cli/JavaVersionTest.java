package org.cce4j.trainer.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code java -jar trainer.jar} on a Java older than 25 says in one line what it needs and what it
 * found (exit 2), instead of an UnsupportedClassVersionError; on Java 25 it runs. Shown with an old
 * JDK installed here (JDK 17 is this machine's default java) running the jar's entry point,
 * JavaVersionCheck, and the built trainer.jar itself when it is up to date.
 */
class JavaVersionTest {
    @TempDir
    Path dir;

    /** An installed java older than 25, with its version and home. */
    record OldJava(Path java, String version, Path home) {}

    static Optional<OldJava> oldJava() throws Exception {
        List<Path> candidates = new ArrayList<>();
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) candidates.add(Path.of(d, "java"));
        if (Files.isDirectory(Path.of("/usr/lib/jvm"))) {
            try (Stream<Path> s = Files.list(Path.of("/usr/lib/jvm"))) {
                s.sorted().forEach(p -> candidates.add(p.resolve("bin/java")));
            }
        }
        Pattern version = Pattern.compile("version \"([0-9][^\"]*)\"");
        for (Path java : candidates) {
            if (!Files.isExecutable(java)) continue;
            Processes.Result r = Processes.run(Path.of(".").toAbsolutePath(), Map.of(), List.of(java.toString(), "-version"));
            Matcher m = version.matcher(r.err());
            if (r.status() == 0 && m.find() && JavaVersionCheck.major(m.group(1)) < JavaVersionCheck.REQUIRED) {
                return Optional.of(new OldJava(java, m.group(1), java.toRealPath().getParent().getParent()));
            }
        }
        return Optional.empty();
    }

    private static void assertSaysWhatItNeeds(Processes.Result r, OldJava old) {
        assertEquals(2, r.status(), r.err());
        String line = r.errorLine();
        assertTrue(line.startsWith("cce4j needs Java 25 or newer; this is Java " + old.version() + " (" + old.home() + ")"), line);
        assertEquals("", r.out());
    }

    @Test
    void theEntryPointSaysWhatJavaItNeedsAndHandsOverOnJava25() throws Exception {
        Path jar = Processes.manifestJar(dir.resolve("trainer.jar"), "org.cce4j.trainer.cli.JavaVersionCheck");
        OldJava old = oldJava().orElse(null);
        Assumptions.assumeTrue(old != null, "no Java older than 25 is installed here");
        assertSaysWhatItNeeds(Processes.run(dir, Map.of(), List.of(old.java().toString(), "-jar", jar.toString(), "--version")), old);
        Processes.Result modern = Processes.run(dir, Map.of(), List.of(Processes.java(), "-jar", jar.toString(), "--version"));
        assertEquals(0, modern.status(), modern.err());
        assertTrue(modern.out().startsWith("cce4j "), modern.out());
    }

    @Test
    void majorReadsOldAndNewVersionStrings() {
        assertEquals(8, JavaVersionCheck.major("1.8"));
        assertEquals(17, JavaVersionCheck.major("17"));
        assertEquals(25, JavaVersionCheck.major("25"));
        assertEquals(0, JavaVersionCheck.major(""));
    }

    @Test
    void theBuiltJarDoesTheSame() throws Exception {
        Path jar = Path.of("target/trainer.jar");
        Assumptions.assumeTrue(Files.isRegularFile(jar) && !olderThanTheSources(jar),
                "target/trainer.jar is missing or older than the sources (mvn package builds it)");
        try (JarFile j = new JarFile(jar.toFile())) {
            assertEquals(JavaVersionCheck.class.getName(), j.getManifest().getMainAttributes().getValue("Main-Class"));
        }
        OldJava old = oldJava().orElse(null);
        Assumptions.assumeTrue(old != null, "no Java older than 25 is installed here");
        assertSaysWhatItNeeds(Processes.run(dir, Map.of(), List.of(old.java().toString(), "-jar", jar.toAbsolutePath().toString(), "--version")), old);
    }

    /** The launcher's rule: a source under src/main or a pom.xml of the repository newer than the jar. */
    private static boolean olderThanTheSources(Path jar) throws IOException {
        long built = Files.getLastModifiedTime(jar).toMillis();
        try (Stream<Path> s = Files.walk(Path.of("..").toAbsolutePath().normalize())) {
            return s.filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/") && !p.toString().contains("/.data/"))
                    .filter(p -> p.toString().contains("/src/main/") || p.getFileName().toString().equals("pom.xml"))
                    .anyMatch(p -> {
                        try {
                            return Files.getLastModifiedTime(p).toMillis() > built;
                        } catch (IOException e) {
                            return false;
                        }
                    });
        }
    }
}
