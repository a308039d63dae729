package org.cce4j.trainer.cli;

import java.lang.reflect.InvocationTargetException;

/**
 * The entry point of trainer.jar, compiled for Java 8 (a second compiler execution in trainer/pom.xml)
 * so that any JVM can load it: on a JVM older than Java 25 it says so in one line, naming the Java it
 * found, and exits 2, where loading {@code Main} would fail with an UnsupportedClassVersionError;
 * otherwise it hands over to {@code Main}. It reaches Main by name only (reflection), so that nothing
 * compiled for Java 25 is loaded before the check.
 */
public final class JavaVersionCheck {
    /** The Java release the rest of the jar is compiled for. */
    static final int REQUIRED = 25;

    private JavaVersionCheck() {}

    public static void main(String[] args) throws Throwable {
        int found = major(System.getProperty("java.specification.version", ""));
        if (found < REQUIRED) {
            System.err.println("cce4j needs Java " + REQUIRED + " or newer; this is Java " + System.getProperty("java.version")
                    + " (" + System.getProperty("java.home") + "). Run ./cce4j, which finds a Java " + REQUIRED
                    + " runtime, or run this jar with the java of a JDK " + REQUIRED + ".");
            System.exit(2);
        }
        try {
            Class.forName("org.cce4j.trainer.cli.Main").getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** The major release of a java.specification.version: "1.8" is 8, "17" is 17; 0 when unreadable. */
    static int major(String specification) {
        String s = specification.startsWith("1.") ? specification.substring(2) : specification;
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) end++;
        return end == 0 ? 0 : Integer.parseInt(s.substring(0, end));
    }
}
