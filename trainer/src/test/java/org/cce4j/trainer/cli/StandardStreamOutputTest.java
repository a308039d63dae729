package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.OutputTarget;
import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --output /dev/stdout} (and /dev/null) in a command run by its own JVM, with the shell's
 * redirections: the bytes go where the shell sent standard output ({@code >}, {@code >>}, a pipe) and
 * /dev/stdout stays what it is. The paths are checked to resolve to a descriptor or a device before
 * any command writes to them, so that a broken resolution fails here instead of replacing the
 * machine's /dev/stdout (as it did for root).
 */
class StandardStreamOutputTest {
    @TempDir
    Path dir;

    private static void requireWrittenThrough(String path, OutputTarget.Kind kind) throws Exception {
        assertEquals(kind, OutputTarget.of(Path.of(path)).kind(), path + " must be written through, never replaced");
    }

    /** Main in its own JVM, its standard output redirected by {@code redirect} (which may name "$OUT", the path {@code out}). */
    private Processes.Result main(String redirect, Path out, String... args) throws Exception {
        StringBuilder script = new StringBuilder("\"$1\" --enable-native-access=ALL-UNNAMED -cp \"$2\" org.cce4j.trainer.cli.Main");
        for (int i = 0; i < args.length; i++) script.append(" \"${").append(i + 3).append("}\"");
        script.append(' ').append(redirect);
        String[] all = new String[args.length + 2];
        all[0] = Processes.java();
        all[1] = Processes.classPath();
        System.arraycopy(args, 0, all, 2, args.length);
        return Processes.bash(dir, out == null ? Map.of() : Map.of("OUT", out.toString()), script.toString(), all);
    }

    private Path lossInput() throws Exception {
        Path in = dir.resolve("in.safetensors");
        try (Tensor e = Tensor.of(new float[] {0.5f, -1f, 2f, 0.25f, 1f, 0f}, 3, 2);
             Tensor c = Tensor.of(new float[] {1f, 0f, 0f, 1f, -1f, 1f, 0.5f, 0.5f}, 4, 2);
             Tensor t = Tensor.of(new long[] {0, 3, 1}, 3)) {
            SafetensorsWriter.write(in, Map.of(), List.of(TensorEntry.of("E", e), TensorEntry.of("C", c), TensorEntry.of("targets", t)));
        }
        return in;
    }

    @Test
    void safetensorsToDevStdoutGoWhereTheShellSendsThem() throws Exception {
        requireWrittenThrough("/dev/stdout", OutputTarget.Kind.DESCRIPTOR);
        Path in = lossInput();
        Processes.Result file = main("", null, "loss", "--input", in.toString(), "--output", dir.resolve("file.safetensors").toString(), "--device", "cpu");
        assertEquals(0, file.status(), file.err());
        Processes.Result redirected = main("> \"$OUT\"", dir.resolve("redirected.safetensors"),
                "loss", "--input", in.toString(), "--output", "/dev/stdout", "--device", "cpu");
        assertEquals(0, redirected.status(), redirected.err());
        assertSameTensors(dir.resolve("file.safetensors"), dir.resolve("redirected.safetensors"));
        Processes.Result piped = main("| cat > \"$OUT\"", dir.resolve("piped.safetensors"),
                "loss", "--input", in.toString(), "--output", "/dev/stdout", "--device", "cpu");
        assertEquals(0, piped.status(), piped.err());
        assertSameTensors(dir.resolve("file.safetensors"), dir.resolve("piped.safetensors"));
        assertTrue(Files.isSymbolicLink(Path.of("/dev/stdout")), "/dev/stdout is still a link");
    }

    /** The same tensors, bit for bit, and the same metadata (whose order in the header differs from JVM to JVM). */
    private static void assertSameTensors(Path expected, Path actual) throws Exception {
        try (SafetensorsFile a = SafetensorsFile.open(expected); SafetensorsFile b = SafetensorsFile.open(actual)) {
            assertEquals(a.metadata(), b.metadata());
            assertEquals(a.names(), b.names());
            for (String n : a.names()) {
                assertArrayEquals(a.tensor(n).toFloatArray(), b.tensor(n).toFloatArray(), n);
                assertArrayEquals(a.tensor(n).shape(), b.tensor(n).shape(), n);
            }
        }
    }

    @Test
    void jsonlToDevStdoutIsAppendedWithDoubleAngle() throws Exception {
        requireWrittenThrough("/dev/stdout", OutputTarget.Kind.DESCRIPTOR);
        Path model = TokenizeCommandTest.llama3().toAbsolutePath();
        Path in = Files.write(dir.resolve("in.jsonl"), List.of("\"Hello world!\""));
        Path log = Files.writeString(dir.resolve("log.jsonl"), "before\n");
        Processes.Result r = main(">> \"$OUT\"", log, "tokenize", "--tokenizer", model.toString(), "--input", in.toString(),
                "--output", "/dev/stdout", "--threads", "1");
        assertEquals(0, r.status(), r.err());
        int[] ids = org.cce4j.tokenizer.Tokenizer.load(model).encode("Hello world!", false);
        assertEquals("before\n" + java.util.Arrays.toString(ids).replace(" ", "") + "\n", Files.readString(log));
        assertTrue(r.err().startsWith("tokenize: 1 row, " + ids.length + " tokens in "), r.err());
    }

    @Test
    void devNullStaysADevice() throws Exception {
        requireWrittenThrough("/dev/null", OutputTarget.Kind.SPECIAL);
        Path in = lossInput();
        Processes.Result r = main("", null, "loss", "--input", in.toString(), "--output", "/dev/null", "--device", "cpu");
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.readAttributes(Path.of("/dev/null"), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther());
    }
}
