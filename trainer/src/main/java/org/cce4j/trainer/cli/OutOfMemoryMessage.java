package org.cce4j.trainer.cli;

import java.util.Locale;

/**
 * The one line an OutOfMemoryError becomes: which options make the work smaller (the command's
 * {@link MemoryHint}) and, when it was the Java heap that ran out, how to give the JVM a larger one,
 * through the launcher ({@code JAVA_OPTS}) or a plain {@code java -jar}.
 */
final class OutOfMemoryMessage {
    private OutOfMemoryMessage() {}

    static String of(OutOfMemoryError e, Object command, String commandName) {
        String lower = command instanceof MemoryHint h ? h.toLowerMemory() : "the sizes of the input";
        String why = String.valueOf(e.getMessage());
        if (why.contains("Requested array size exceeds VM limit")) {
            return "out of memory: an array larger than Java allows; lower " + lower;
        }
        if (!why.contains("Java heap space") && !why.contains("GC overhead limit")) {
            return "out of memory (" + why + "); lower " + lower;
        }
        long maxMb = Runtime.getRuntime().maxMemory() >> 20;
        long suggestGb = Math.max(2, (2 * maxMb + 1023) / 1024);
        return String.format(Locale.ROOT, "out of memory: the Java heap (at most %,d MB) is too small; lower %s, or raise the heap: "
                + "JAVA_OPTS=-Xmx%dg ./cce4j %s ... (java -Xmx%dg -jar trainer.jar %s ...)", maxMb, lower, suggestGb, commandName, suggestGb, commandName);
    }
}
