package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.checkpoints.OutputTarget;
import org.cce4j.core.InvalidInputException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A command's {@code --output}, checked before the command works: {@code -} is standard output (for
 * JSONL and text; a binary output refuses it), a folder is refused, and so is a path that is one of
 * the command's inputs (a link to it included), which the write would destroy. Files go through
 * {@link AtomicFiles}: a regular file is replaced by a rename, a link is followed, a device or FIFO
 * (/dev/stdout) is written through.
 */
final class CommandOutput {
    /** The name of standard output. */
    static final String STDOUT = "-";

    private final String option;
    private final Path path;

    private CommandOutput(String option, Path path) {
        this.option = option;
        this.path = path;
    }

    /** A text (JSONL) output: {@code -} is standard output. */
    static CommandOutput text(String option, Path path) {
        CommandOutput o = new CommandOutput(option, path);
        if (!o.isDash()) o.requireWritablePlace();
        return o;
    }

    /** A binary output (safetensors): {@code -} is refused, it would write bytes onto a terminal. */
    static CommandOutput binary(String option, Path path, String format) {
        CommandOutput o = new CommandOutput(option, path);
        if (o.isDash()) {
            throw new InvalidInputException(option + " -: standard output takes text only; name a file for the " + format + " output");
        }
        o.requireWritablePlace();
        return o;
    }

    /** The path is {@code -}. */
    boolean isDash() {
        return path.toString().equals(STDOUT);
    }

    /** {@code -}, or a path that is this process's standard output (/dev/stdout, or what the shell redirected it to). */
    boolean isStandardOutput() {
        if (isDash()) return true;
        Path stdout = Path.of("/dev/stdout");
        try {
            return Files.exists(stdout) && Files.exists(path) && Files.isSameFile(path, stdout);
        } catch (IOException e) {
            return false;
        }
    }

    Path path() {
        return path;
    }

    /** Refuses an output that is one of {@code inputs} (option or role → path), or a link to one. */
    CommandOutput notOneOf(Map<String, Path> inputs) throws IOException {
        if (isDash() || !Files.exists(path)) return this;
        for (Map.Entry<String, Path> in : inputs.entrySet()) {
            Path input = in.getValue();
            if (input != null && Files.exists(input) && Files.isSameFile(path, input)) {
                throw new InvalidInputException(option + " " + path + " is the " + in.getKey() + " " + input
                        + ": writing it would destroy the input; choose another " + option);
            }
        }
        return this;
    }

    /** Text written by {@code body}: to standard output ({@code stdout}), or atomically to the file. */
    void writeText(PrintWriter stdout, TextBody body) throws IOException {
        if (isDash()) {
            body.write(stdout);
            stdout.flush();
            if (stdout.checkError()) throw new IOException("writing to standard output failed");
            return;
        }
        AtomicFiles.write(path, ch -> {
            Writer w = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8), 1 << 16);
            body.write(w);
            w.flush();
        });
    }

    /** What writes the text. */
    @FunctionalInterface
    interface TextBody {
        void write(Writer out) throws IOException;
    }

    private void requireWritablePlace() {
        try {
            OutputTarget.of(path);
        } catch (FileSystemException e) {
            String why = e.getReason() != null ? e.getReason() : e.getMessage();
            throw new InvalidInputException(option + " " + path + " " + why + (why.equals("is a directory") ? "; name a file (in it, for instance)" : ""));
        } catch (IOException e) {
            throw new InvalidInputException(option + " " + path + ": " + e.getMessage());
        }
    }
}
