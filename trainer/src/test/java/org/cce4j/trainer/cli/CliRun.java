package org.cce4j.trainer.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the command line, with what it printed and its exit status. */
record CliRun(int status, String out, String err) {

    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(status, out.toString(), err.toString());
    }

    /** The single line a user error must produce. */
    String errorLine() {
        String e = err.strip();
        if (e.contains("\n") || e.contains("\tat ")) {
            throw new AssertionError("expected one line on stderr, got:\n" + err);
        }
        return e;
    }
}
