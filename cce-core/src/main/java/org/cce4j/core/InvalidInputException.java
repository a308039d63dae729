package org.cce4j.core;

/**
 * A problem with what the user gave us (a shape that does not fit, a target out of range, a
 * malformed file), as opposed to a bug. The message is one line that names the problem; the
 * command line prints it alone and exits with status 2.
 */
public class InvalidInputException extends IllegalArgumentException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
