package org.cce4j.checkpoints.interop;

/** Lets tests in other packages reuse the tiny Llama config of the interop files. */
public final class JavaInteropFilesTestAccess {
    private JavaInteropFilesTestAccess() {}

    public static String llamaConfigJson() {
        return JavaInteropFilesTest.llamaConfigJson();
    }
}
