package org.cce4j.tokenizer.chat;

import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=indent)}: what transformers' own
 * {@code tojson} filter produces (separators ", " and ": ", or "," and ": " with an indent; no
 * HTML escaping, unlike Jinja's built-in filter).
 */
final class PythonJson {
    private PythonJson() {}

    static String dumps(Object value, Integer indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Integer indent, int depth) {
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Integer i -> sb.append(i);
            case Long l -> sb.append(l);
            case Short s -> sb.append(s);
            case java.math.BigInteger b -> sb.append(b);
            case Number n -> sb.append(pythonFloat(n.doubleValue()));
            case CharSequence s -> string(sb, s.toString());
            case Map<?, ?> m -> {
                if (m.isEmpty()) { sb.append("{}"); return; }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) sb.append(indent == null ? ", " : ",");
                    newline(sb, indent, depth + 1);
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), indent, depth + 1);
                    first = false;
                }
                newline(sb, indent, depth);
                sb.append('}');
            }
            case Iterable<?> it -> {
                if (!it.iterator().hasNext()) { sb.append("[]"); return; }
                sb.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) sb.append(indent == null ? ", " : ",");
                    newline(sb, indent, depth + 1);
                    write(sb, o, indent, depth + 1);
                    first = false;
                }
                newline(sb, indent, depth);
                sb.append(']');
            }
            case Object[] arr -> write(sb, java.util.Arrays.asList(arr), indent, depth);
            default -> string(sb, v.toString());
        }
    }

    private static void newline(StringBuilder sb, Integer indent, int depth) {
        if (indent == null) return;
        sb.append('\n');
        sb.append(" ".repeat(indent * depth));
    }

    private static String pythonFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return String.format("%.1f", d);
        String s = Double.toString(d);
        if (s.contains("E")) {
            String[] parts = s.split("E");
            int exp = Integer.parseInt(parts[1]);
            String mant = parts[0].endsWith(".0") ? parts[0].substring(0, parts[0].length() - 2) : parts[0];
            return mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        return s;
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
