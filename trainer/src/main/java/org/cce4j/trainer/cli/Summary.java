package org.cce4j.trainer.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The line tokenize and detokenize print on standard error when done (what they did, how long it
 * took, where it went), so that a run says it worked even when its output goes to standard output.
 */
final class Summary {
    private Summary() {}

    static void print(PrintWriter err, String command, long rows, long tokens, long startNanos, CommandOutput out) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        err.printf(Locale.ROOT, "%s: %,d %s, %,d %s in %.2f s -> %s%n", command, rows, rows == 1 ? "row" : "rows",
                tokens, tokens == 1 ? "token" : "tokens", seconds, out.isDash() ? "standard output" : out.path());
        err.flush();
    }
}
