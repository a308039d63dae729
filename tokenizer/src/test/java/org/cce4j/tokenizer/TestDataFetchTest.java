package org.cce4j.tokenizer;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The 137 MB of test data are fetched for the tests only: this module's fetch-test-data execution is
 * skipped by a build that skips the tests (-DskipTests, as ./cce4j builds; -Dmaven.test.skip) and runs
 * otherwise. Checked by running Maven itself (offline) on that one execution.
 */
class TestDataFetchTest {
    private static final String EXECUTION = "(fetch-test-data) @ tokenizer ---";
    private static final String SKIPPED = "skipping execute as per configuration";

    /** Maven's output for the fetch-test-data execution alone, with {@code properties}. */
    private static String fetchExecution(String... properties) throws Exception {
        Path mvn = null;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, "mvn"))) mvn = Path.of(dir, "mvn");
        }
        Assumptions.assumeTrue(mvn != null, "no mvn on the PATH; the fetch's configuration cannot be run here");
        Path pom = Path.of("../pom.xml").toAbsolutePath().normalize();
        List<String> cmd = new ArrayList<>(List.of(mvn.toString(), "-o", "-B", "-Dstyle.color=never", "-f", pom.toString(), "-pl", "tokenizer"));
        cmd.addAll(List.of(properties));
        cmd.add("exec:exec@fetch-test-data");
        Path log = Files.createTempFile("fetch-test-data", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "maven finished");
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains(EXECUTION), "the execution is configured:\n" + out);
            return out.substring(out.indexOf(EXECUTION));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @Test
    void aBuildThatSkipsTheTestsSkipsTheFetch() throws Exception {
        assertTrue(fetchExecution("-DskipTests").lines().skip(1).findFirst().orElse("").contains(SKIPPED));
        assertTrue(fetchExecution("-Dmaven.test.skip=true").lines().skip(1).findFirst().orElse("").contains(SKIPPED));
    }

    @Test
    void aBuildThatRunsTheTestsFetches() throws Exception {
        // with the data complete the script returns at once; without, it would repeat this build's own attempt
        Assumptions.assumeTrue(Files.exists(Path.of(System.getProperty("tokenizer.testData", "../.data/tokenizer"), ".complete")),
                "the test data is not complete here; not running the fetch a second time");
        assertFalse(fetchExecution().contains(SKIPPED));
    }
}
