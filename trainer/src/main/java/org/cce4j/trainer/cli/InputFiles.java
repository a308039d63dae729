package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks of a command's input paths before any work, so that the one-line error names the option and
 * the path ("--input data/: a folder, not a file") instead of what the operating system says
 * about the read that failed ("Is a directory").
 */
final class InputFiles {
    private InputFiles() {}

    /** {@code path} must exist and be a file (a link to one is fine). */
    static Path requireFile(String option, Path path) {
        if (Files.isDirectory(path)) throw new InvalidInputException(option + " " + path + ": a folder, not a file");
        if (!Files.exists(path)) throw new InvalidInputException(option + " " + path + ": no such file");
        if (!Files.isReadable(path)) throw new InvalidInputException(option + " " + path + ": permission denied");
        return path;
    }

    /** {@code path} must be a folder. */
    static Path requireFolder(String option, Path path) {
        if (Files.isDirectory(path)) return path;
        throw new InvalidInputException(option + " " + path + (Files.exists(path) ? ": a file, not a folder" : ": no such folder"));
    }
}
