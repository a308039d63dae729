package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * {@code example NAME [ARGS...]}: runs the program {@code org.cce4j.examples.NAME} of the examples
 * module (benchmarks, the loss used as a library), whose jar {@code ./cce4j} puts on the class path.
 * Everything after NAME, {@code --help} included, is the program's own (Main makes picocli stop at
 * NAME). The examples are found on the class path rather than listed here, so a new one needs no
 * change in this module; an unknown NAME is one line listing those found.
 */
@Command(name = "example", mixinStandardHelpOptions = true,
        description = {"Runs a program of the examples module (benchmarks): org.cce4j.examples.NAME.",
            "The launcher puts the examples on the class path; the arguments after NAME are the program's (NAME --help)."})
final class ExampleCommand implements java.util.concurrent.Callable<Integer> {
    static final String PACKAGE = "org.cce4j.examples";

    private final String examplesPackage;

    @Parameters(index = "0", paramLabel = "NAME", description = "the program (a class of " + PACKAGE + ")")
    String name;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "its arguments")
    List<String> args = new ArrayList<>();

    ExampleCommand() {
        this(PACKAGE);
    }

    /** For tests: the programs of another package. */
    ExampleCommand(String examplesPackage) {
        this.examplesPackage = examplesPackage;
    }

    @Override
    public Integer call() throws Exception {
        Method main = mainOf(name);
        try {
            main.invoke(null, (Object) args.toArray(String[]::new));
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof Exception cause) throw cause;
            if (e.getCause() instanceof Error cause) throw cause;
            throw e;
        }
        return 0;
    }

    private Method mainOf(String program) throws IOException {
        if (program.matches("[A-Za-z_$][A-Za-z0-9_$]*")) {
            try {
                Method main = Class.forName(examplesPackage + "." + program, false, loader()).getMethod("main", String[].class);
                if (Modifier.isStatic(main.getModifiers())) return main;
            } catch (ClassNotFoundException | NoSuchMethodException e) {
                // not a program: said below with the list of those there are
            }
        }
        List<String> found = programs();
        throw new InvalidInputException("no example named '" + program + "'; " + (found.isEmpty()
                ? "the examples module is not on the class path (./cce4j example NAME adds examples/target/examples-*.jar)"
                : "the examples are " + String.join(", ", found)));
    }

    /** The classes of the package with a public static main, from every jar or folder that holds the package. */
    List<String> programs() throws IOException {
        String folder = examplesPackage.replace('.', '/') + "/";
        TreeSet<String> classes = new TreeSet<>();
        for (URL url : Collections.list(loader().getResources(folder))) {
            if (url.getProtocol().equals("jar")) {
                JarURLConnection c = (JarURLConnection) url.openConnection();
                c.setUseCaches(false);
                try (JarFile jar = c.getJarFile()) {
                    for (JarEntry e : Collections.list(jar.entries())) {
                        String n = e.getName();
                        if (n.startsWith(folder) && n.indexOf('/', folder.length()) < 0) classes.add(n.substring(folder.length()));
                    }
                }
            } else if (url.getProtocol().equals("file")) {
                try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
                    files.forEach(p -> classes.add(p.getFileName().toString()));
                } catch (URISyntaxException e) {
                    throw new IOException(e);
                }
            }
        }
        List<String> programs = new ArrayList<>();
        for (String file : classes) {
            if (!file.endsWith(".class") || file.contains("$") || file.equals("package-info.class")) continue;
            String simple = file.substring(0, file.length() - ".class".length());
            try {
                Method main = Class.forName(examplesPackage + "." + simple, false, loader()).getMethod("main", String[].class);
                if (Modifier.isStatic(main.getModifiers())) programs.add(simple);
            } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
                // a helper class, not a program
            }
        }
        return programs;
    }

    private static ClassLoader loader() {
        return ExampleCommand.class.getClassLoader();
    }
}
