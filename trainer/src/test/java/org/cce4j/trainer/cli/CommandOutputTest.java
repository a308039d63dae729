package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the JSONL commands' --output does with what it names (docs/design.md, the command-line
 * contract): {@code -} is standard output, a link is followed, a FIFO is written through, a folder or
 * one of the inputs is refused, a new file has a plain new file's permissions and a replaced one keeps
 * its own. Shown with tokenize and detokenize, which share CommandOutput with every command.
 */
class CommandOutputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path model;
    private Path in;
    private String expectedIds;

    @BeforeEach
    void input() throws Exception {
        model = TokenizeCommandTest.llama3();
        List<String> texts = List.of("Hello world!", "second row");
        List<String> lines = new ArrayList<>();
        StringBuilder ids = new StringBuilder();
        Tokenizer tok = Tokenizer.load(model);
        for (String t : texts) {
            lines.add(JSON.writeValueAsString(t));
            ids.append(JSON.writeValueAsString(tok.encode(t, false))).append('\n');
        }
        in = Files.write(dir.resolve("in.jsonl"), lines, StandardCharsets.UTF_8);
        expectedIds = ids.toString();
    }

    private CliRun tokenize(Path output) {
        return CliRun.of("tokenize", "--tokenizer", model.toString(), "--input", in.toString(), "--output", output.toString());
    }

    @Test
    void dashIsStandardOutput() throws Exception {
        Path dash = Path.of("-");
        boolean existed = Files.exists(dash, LinkOption.NOFOLLOW_LINKS);
        try {
            CliRun run = tokenize(dash);
            assertEquals(0, run.status(), run.err());
            assertEquals(expectedIds, run.out());
            assertTrue(run.err().strip().endsWith("-> standard output"), run.err());
            assertEquals(existed, Files.exists(dash, LinkOption.NOFOLLOW_LINKS), "no file named -");
        } finally {
            if (!existed) dash.toFile().delete();
        }
        CliRun back = CliRun.of("detokenize", "--tokenizer", model.toString(), "--input", write("ids.jsonl", expectedIds).toString(), "--output", "-");
        assertEquals(0, back.status(), back.err());
        assertEquals("\"Hello world!\"\n\"second row\"\n", back.out());
    }

    @Test
    void aNewOutputHasAPlainNewFilesPermissionsAndAReplacedOneKeepsItsOwn() throws Exception {
        Path plain = Files.createFile(dir.resolve("plain"));        // 0666 less the umask
        Path out = dir.resolve("ids.jsonl");
        assertEquals(0, tokenize(out).status());
        assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)), PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-rw----"));
        assertEquals(0, tokenize(out).status());
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        assertEquals(expectedIds, Files.readString(out));
    }

    @Test
    void aLinkIsFollowedAndStaysALink() throws Exception {
        Path target = write("target.jsonl", "old\n");
        Path link = Files.createSymbolicLink(dir.resolve("latest.jsonl"), target.getFileName());
        CliRun run = tokenize(link);
        assertEquals(0, run.status(), run.err());
        assertTrue(Files.isSymbolicLink(link), "the link is not replaced by a file");
        assertEquals(expectedIds, Files.readString(target));
    }

    @Test
    void aFifoIsWrittenThrough() throws Exception {
        Path fifo = dir.resolve("ids.fifo");
        int rc;
        try {
            rc = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor();
        } catch (IOException e) {
            rc = -1;
        }
        Assumptions.assumeTrue(rc == 0, "mkfifo is not available here");
        Executor threads = task -> Thread.ofPlatform().daemon().start(task);
        CompletableFuture<String> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return Files.readString(fifo);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, threads);
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> tokenize(fifo), threads);
        assertEquals(0, run.get(60, TimeUnit.SECONDS).status(), run.get().err());
        assertEquals(expectedIds, reader.get(60, TimeUnit.SECONDS));
        assertTrue(Files.readAttributes(fifo, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(), "still a FIFO");
    }

    @Test
    void aFolderOrAnInputIsRefused() throws Exception {
        Path folder = Files.createDirectory(dir.resolve("out"));
        CliRun toFolder = tokenize(folder);
        assertEquals(2, toFolder.status());
        assertEquals("tokenize: error: --output " + folder + " is a directory; name a file (in it, for instance)", toFolder.errorLine());

        String before = Files.readString(in);
        CliRun onInput = tokenize(in);
        assertEquals(2, onInput.status());
        assertTrue(onInput.errorLine().contains("--output " + in + " is the --input " + in + ": writing it would destroy the input"), onInput.err());
        assertEquals(before, Files.readString(in), "the input is untouched");

        CliRun fromFolder = CliRun.of("tokenize", "--tokenizer", model.toString(), "--input", folder.toString(), "--output", dir.resolve("o").toString());
        assertEquals(2, fromFolder.status());
        assertEquals("tokenize: error: --input " + folder + ": a folder, not a file", fromFolder.errorLine());
        assertFalse(Files.exists(dir.resolve("o")));
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }
}
