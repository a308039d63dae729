package org.cce4j.trainer.train;

import java.io.Console;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Whether stderr is a terminal, for the tokenizing progress bar before the run's own progress exists:
 * isatty(2) through FFM (System.console() asks about stdin and stdout), the console where the C
 * library cannot be called. The same question metrics.Progress asks for its bar.
 */
final class StderrTerminal {
    private StderrTerminal() {}

    static boolean is() {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(2) == 1;
        } catch (Throwable e) {
            Console console = System.console();
            return console != null && console.isTerminal();
        }
    }
}
