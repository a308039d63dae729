package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParseResult;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * The cce4j command line: one executable jar, one subcommand per job. Errors the user can fix (a
 * missing file, a bad shape, malformed input) print one line and exit 2; anything else is a bug
 * and exits 1 with its stack trace. {@code --verbose} shows the trace for user errors too. Running
 * out of memory is one line too, naming what to lower and how to raise the heap.
 */
@Command(name = "cce4j",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Fine-tune Llama and Gemma models with Cut Cross-Entropy, on the CPU or a CUDA GPU.",
            "",
            "SIMD: the CPU kernels use the Vector API when the JVM runs with",
            "  --add-modules jdk.incubator.vector",
            "(the ./cce4j launcher does this); a plain `java -jar` uses the scalar kernels.",
        },
        subcommands = {
            TrainCommand.class,
            MergeCommand.class,
            CompareCommand.class,
            DemoCommand.class,
            LossCommand.class,
            BenchLossCommand.class,
            InspectCommand.class,
            ForwardCommand.class,
            GenerateCommand.class,
            TokenizeCommand.class,
            DetokenizeCommand.class,
            ExampleCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {
    /** Exit status for problems with the user's input. */
    public static final int USER_ERROR = 2;
    /** Exit status for bugs. */
    public static final int BUG = 1;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs one command line with the given streams and returns the exit status. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean verbose = isVerbose(parseResult);
            String name = label(commandLine);
            String problem = userProblem(ex);
            if (problem != null) {
                err.println(name + ": error: " + problem);
                if (verbose) ex.printStackTrace(err);
                err.flush();
                return USER_ERROR;
            }
            err.println(name + ": internal error (a bug, please report it): " + ex);
            ex.printStackTrace(err);
            err.flush();
            return BUG;
        });
        cli.setParameterExceptionHandler((ex, badArgs) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println(label(c) + ": error: " + usageProblem(ex)
                    + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            c.getErr().flush();
            return USER_ERROR;
        });
        cli.getSubcommands().get("example").setStopAtPositional(true);   // NAME's arguments are the program's
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            CommandLine failed = cli;
            for (ParseResult p = cli.getParseResult(); p != null; p = p.hasSubcommand() ? p.subcommand() : null) failed = p.commandSpec().commandLine();
            err.println(label(failed) + ": error: " + OutOfMemoryMessage.of(e, failed.getCommand(), failed.getCommandName()));
            if (isVerbose(cli.getParseResult())) e.printStackTrace(err);
            err.flush();
            return USER_ERROR;
        }
    }

    /** How an error names its command: "train", "demo loss" (the command line's words after the program's name). */
    static String label(CommandLine c) {
        String q = c.getCommandSpec().qualifiedName(" ");
        int space = q.indexOf(' ');
        return space < 0 ? q : q.substring(space + 1);
    }

    /** The one-line message for an exception caused by the user's input, or null for a bug. */
    static String userProblem(Throwable ex) {
        if (ex instanceof UncheckedIOException u && u.getCause() != null) {
            ex = u.getCause();
        }
        return switch (ex) {
            case InvalidInputException e -> e.getMessage();
            case org.cce4j.core.OutOfDeviceMemoryException e -> e.getMessage() + " (lower the batch or the sequence length, or use --device cpu)";
            case org.cce4j.tokenizer.TokenizerException e -> e.getMessage();
            case org.cce4j.core.cuda.CudaUnavailableException e -> "no usable CUDA device: " + e.getMessage() + " (use --device cpu)";
            case NoSuchFileException e -> "no such file: " + e.getFile();
            case AccessDeniedException e -> "permission denied: " + e.getFile();
            case FileSystemException e -> "cannot access " + e.getFile() + (e.getReason() != null ? ": " + e.getReason() : "");
            case FileNotFoundException e -> "cannot open file: " + e.getMessage();
            case IOException e -> "input/output error: " + e.getMessage();
            default -> null;
        };
    }

    /** picocli's message, with a value conversion's own reason instead of the exception's class name. */
    private static String usageProblem(CommandLine.ParameterException ex) {
        Throwable cause = ex.getCause();
        if (cause instanceof IllegalArgumentException && cause.getMessage() != null && ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o) {
            return "invalid value for " + o.longestName() + ": " + cause.getMessage();
        }
        return ex.getMessage();
    }

    private static boolean isVerbose(ParseResult pr) {
        for (ParseResult p = pr; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"cce4j " + (v != null ? v : "development build"),
                    "Java " + Runtime.version() + ", SIMD " + (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? "on" : "off")};
        }
    }
}
