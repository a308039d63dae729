package org.cce4j.examples;

import org.cce4j.core.InvalidInputException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The command line of an example program: {@code --name value} options, {@code --flag} switches and
 * positional arguments, declared up front, so that {@code --help} prints the program's usage and a
 * mistake (an unknown option, a missing value, a count that is not positive) is an
 * {@link InvalidInputException} naming it, which {@code ./cce4j example} prints as one line (exit 2).
 * Hand-written rather than picocli because the examples depend on the library modules only.
 */
final class ExampleArgs {
    private final Map<String, String> options = new HashMap<>();
    private final List<String> positionals = new ArrayList<>();
    private final boolean help;

    private ExampleArgs(boolean help) {
        this.help = help;
    }

    /**
     * Parses {@code args}: {@code valued} are the option names taking a value, {@code flags} those that
     * do not, at most {@code maxPositionals} other arguments. {@code --help} or {@code -h} prints
     * {@code usage} to standard output; the program then checks {@link #helpRequested} and returns.
     */
    static ExampleArgs parse(String[] args, String usage, Set<String> valued, Set<String> flags, int maxPositionals) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage.strip());
                return new ExampleArgs(true);
            }
        }
        ExampleArgs parsed = new ExampleArgs(false);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String inline = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    inline = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (flags.contains(name) && inline == null) {
                    parsed.options.put(name, "true");
                } else if (valued.contains(name)) {
                    if (inline == null && i + 1 >= args.length) throw new InvalidInputException("--" + name + " needs a value (see --help)");
                    parsed.options.put(name, inline != null ? inline : args[++i]);
                } else {
                    throw new InvalidInputException("unknown option " + a + " (see --help)");
                }
            } else {
                if (parsed.positionals.size() == maxPositionals) {
                    throw new InvalidInputException("unexpected argument '" + a + "' (see --help)");
                }
                parsed.positionals.add(a);
            }
        }
        return parsed;
    }

    /** True when --help was asked for and the usage printed: the program has nothing else to do. */
    boolean helpRequested() {
        return help;
    }

    String string(String name, String defaultValue) {
        return options.getOrDefault(name, defaultValue);
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    /** Option {@code --name} read by {@code parse}; its IllegalArgumentException becomes one line naming the option. */
    <T> T value(String name, String defaultValue, Function<String, T> parse) {
        return convert("--" + name, options.getOrDefault(name, defaultValue), parse);
    }

    int positiveInt(String name, int defaultValue) {
        return value(name, Integer.toString(defaultValue), ExampleArgs::positive);
    }

    int nonNegativeInt(String name, int defaultValue) {
        return value(name, Integer.toString(defaultValue), ExampleArgs::nonNegative);
    }

    /** Positional argument {@code index} (named {@code label} in messages), or the default. */
    <T> T positional(int index, String label, String defaultValue, Function<String, T> parse) {
        return convert(label, index < positionals.size() ? positionals.get(index) : defaultValue, parse);
    }

    static int positive(String s) {
        int n = integer(s);
        if (n <= 0) throw new IllegalArgumentException("must be positive, got " + n);
        return n;
    }

    static int nonNegative(String s) {
        int n = integer(s);
        if (n < 0) throw new IllegalArgumentException("must be 0 or more, got " + n);
        return n;
    }

    private static int integer(String s) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a whole number, got '" + s + "'");
        }
    }

    private static <T> T convert(String what, String text, Function<String, T> parse) {
        try {
            return parse.apply(text);
        } catch (InvalidInputException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(what + ": " + e.getMessage());
        }
    }
}
