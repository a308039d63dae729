package org.cce4j.tokenizer.chat;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Python's str methods for chat templates ({@code content.strip()}, {@code .startswith(..)},
 * {@code .split()}, ...): Jinjava would otherwise call Java's String methods, which have other
 * names and other whitespace rules. Installed as the first EL resolver; anything else falls
 * through to Jinjava's own.
 */
final class PythonStrings extends ELResolver {

    /** Python's {@code str.isspace()} for one character. */
    static boolean isSpace(char c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int a = 0, b = s.length();
        if (left) while (a < b && strippable(s.charAt(a), chars)) a++;
        if (right) while (b > a && strippable(s.charAt(b - 1), chars)) b--;
        return s.substring(a, b);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) return null;
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), p);
        if (result != NOT_HANDLED) context.setPropertyResolved(true);
        return result == NOT_HANDLED ? null : result;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object call(String s, String name, Object[] p) {
        String a0 = p.length > 0 && p[0] != null ? p[0].toString() : null;
        return switch (name) {
            case "strip" -> strip(s, a0, true, true);
            case "lstrip" -> strip(s, a0, true, false);
            case "rstrip" -> strip(s, a0, false, true);
            case "startswith" -> p.length > 0 && p[0] instanceof List<?> l ? l.stream().anyMatch(x -> s.startsWith(String.valueOf(x))) : s.startsWith(a0);
            case "endswith" -> p.length > 0 && p[0] instanceof List<?> l ? l.stream().anyMatch(x -> s.endsWith(String.valueOf(x))) : s.endsWith(a0);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "split" -> split(s, a0, p.length > 1 ? ((Number) p[1]).intValue() : -1);
            case "replace" -> s.replace(a0, String.valueOf(p[1]));
            case "find" -> s.indexOf(a0);
            case "count" -> a0.isEmpty() ? s.length() + 1 : (s.length() - s.replace(a0, "").length()) / a0.length();
            case "join" -> p.length > 0 && p[0] instanceof Iterable<?> it ? joinAll(s, it) : NOT_HANDLED;
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(c -> isSpace((char) c));
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "splitlines" -> List.of(s.split("\r\n|\r|\n", -1)).subList(0, s.isEmpty() ? 0 : (s.endsWith("\n") || s.endsWith("\r") ? s.split("\r\n|\r|\n", -1).length - 1 : s.split("\r\n|\r|\n", -1).length));
            default -> NOT_HANDLED;
        };
    }

    private static String joinAll(String sep, Iterable<?> it) {
        StringBuilder sb = new StringBuilder();
        for (Object o : it) {
            if (!sb.isEmpty() || sb.length() > 0) sb.append(sep);
            sb.append(o);
        }
        return sb.toString();
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    /** Python's str.split: on runs of whitespace without a separator, else on the exact separator. */
    private static List<String> split(String s, String sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (i < n) {
                while (i < n && isSpace(s.charAt(i))) i++;
                if (i >= n) break;
                if (max >= 0 && out.size() == max) {
                    out.add(strip(s.substring(i), null, false, true));
                    return out;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        int from = 0, at;
        while ((max < 0 || out.size() < max) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
