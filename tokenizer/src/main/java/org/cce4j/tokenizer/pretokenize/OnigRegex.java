package org.cce4j.tokenizer.pretokenize;

import org.cce4j.tokenizer.TokenizerException;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Translates the Oniguruma patterns of tokenizer.json (the Rust library compiles them with
 * Oniguruma's default syntax) into java.util.regex. The two engines agree on alternation order,
 * backtracking, lookaround and {@code \p{..}} categories; they differ on the shorthand classes,
 * which this translation spells out: Oniguruma's {@code \s} is Unicode (0x09-0x0D, U+0085, Zs,
 * Zl, Zp) while Java's is ASCII, and likewise {@code \d}, {@code \w}, {@code \h}. Case-insensitive
 * groups fold Unicode case, and {@code ^}/{@code $} are line anchors in Oniguruma.
 */
public final class OnigRegex {
    static final String SPACE = "\\t-\\r\\x{85}\\p{Zs}\\p{Zl}\\p{Zp}";
    static final String WORD = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
    static final String HEX = "0-9a-fA-F";

    private OnigRegex() {}

    public static Pattern compile(String onig) {
        String java = translate(onig);
        try {
            return Pattern.compile(java, Pattern.UNICODE_CASE | Pattern.MULTILINE | Pattern.UNIX_LINES);
        } catch (PatternSyntaxException e) {
            throw new TokenizerException("unsupported regex in tokenizer.json: " + onig + " (" + e.getDescription() + ")");
        }
    }

    /** The java.util.regex spelling of an Oniguruma pattern. */
    public static String translate(String p) {
        StringBuilder out = new StringBuilder(p.length() + 32);
        int classDepth = 0;
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '\\' && i + 1 < p.length()) {
                char e = p.charAt(++i);
                boolean in = classDepth > 0;
                switch (e) {
                    case 's' -> out.append(in ? SPACE : "[" + SPACE + "]");
                    case 'S' -> out.append(in ? "[^" + SPACE + "]" : "[^" + SPACE + "]");
                    case 'd' -> out.append("\\p{Nd}");
                    case 'D' -> out.append("\\P{Nd}");
                    case 'w' -> out.append(in ? WORD : "[" + WORD + "]");
                    case 'W' -> out.append("[^" + WORD + "]");
                    case 'h' -> out.append(in ? HEX : "[" + HEX + "]");
                    case 'H' -> out.append("[^" + HEX + "]");
                    case 'p', 'P' -> {
                        int close = p.indexOf('}', i);
                        if (i + 1 < p.length() && p.charAt(i + 1) == '{' && close > 0) {
                            String name = p.substring(i + 2, close);
                            boolean neg = e == 'P';
                            if (name.startsWith("^")) { neg = !neg; name = name.substring(1); }
                            out.append('\\').append(neg ? 'P' : 'p').append('{').append(propertyName(name)).append('}');
                            i = close;
                        } else {
                            out.append('\\').append(e);
                        }
                    }
                    default -> out.append('\\').append(e);
                }
                continue;
            }
            if (c == '[') {
                if (p.startsWith("[:", i)) {
                    int close = p.indexOf(":]", i);
                    if (close > 0 && classDepth > 0) {
                        String name = p.substring(i + 2, close);
                        boolean neg = name.startsWith("^");
                        out.append(neg ? "\\P{" : "\\p{").append(posix(neg ? name.substring(1) : name)).append('}');
                        i = close + 1;
                        continue;
                    }
                }
                classDepth++;
                out.append(c);
                if (i + 1 < p.length() && p.charAt(i + 1) == '^') { out.append('^'); i++; }
                if (i + 1 < p.length() && p.charAt(i + 1) == ']') { out.append("\\]"); i++; }
                continue;
            }
            if (c == ']' && classDepth > 0) {
                classDepth--;
                out.append(c);
                continue;
            }
            out.append(c);
        }
        return out.toString();
    }

    private static String propertyName(String name) {
        if (name.length() <= 2 && Character.isUpperCase(name.charAt(0))) return name;  // general category
        String n = name.replace("_", "").replace(" ", "");
        return switch (n.toLowerCase()) {
            case "alpha", "alphabetic" -> "IsAlphabetic";
            case "letter" -> "L";
            case "number" -> "N";
            case "mark" -> "M";
            case "punct", "punctuation" -> "P";
            case "space", "whitespace" -> "IsWhite_Space";
            case "upper", "uppercase" -> "IsUppercase";
            case "lower", "lowercase" -> "IsLowercase";
            default -> "Is" + n;  // scripts: Han, Hiragana, Latin, ...
        };
    }

    private static String posix(String name) {
        return switch (name) {
            case "alpha" -> "IsAlphabetic";
            case "digit" -> "Nd";
            case "alnum" -> "IsAlnum";
            case "upper" -> "IsUppercase";
            case "lower" -> "IsLowercase";
            case "space" -> "IsWhite_Space";
            case "punct" -> "IsPunctuation";
            default -> throw new TokenizerException("unsupported POSIX class [:" + name + ":] in a tokenizer.json regex");
        };
    }
}
