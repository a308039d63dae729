package org.cce4j.tokenizer.chat;

/**
 * Python's reversing slice {@code seq[::-1]} (Qwen 3's template walks {@code messages[::-1]}) does
 * not parse in Jinjava, whose slices take no step; inside each {@code {{ }}} and {@code {% %}} this
 * rewrite turns it into the {@code reverse} filter, which gives the same sequence in Jinja and
 * Jinjava (a filter binds as tightly as a subscript on the value it follows).
 */
final class ReverseSlice {
    private ReverseSlice() {}

    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length());
        int i = 0, n = template.length();
        while (i < n) {
            int open = NotPrecedence.nextTag(template, i);
            if (open < 0) {
                out.append(template, i, n);
                break;
            }
            out.append(template, i, open);
            boolean expr = template.startsWith("{{", open);
            int close = NotPrecedence.findClose(template, open + 2, expr ? "}}" : "%}");
            if (close < 0) {
                out.append(template, open, n);
                break;
            }
            out.append(template, open, open + 2);
            out.append(rewriteExpression(template.substring(open + 2, close)));
            out.append(template, close, close + 2);
            i = close + 2;
        }
        return out.toString();
    }

    static String rewriteExpression(String s) {
        StringBuilder out = new StringBuilder(s.length());
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                out.append(c);
                if (c == '\\' && i + 1 < s.length()) out.append(s.charAt(++i));
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            if (c == '[') {
                int j = i + 1;
                StringBuilder inside = new StringBuilder();
                while (j < s.length() && s.charAt(j) != ']') inside.append(s.charAt(j++));
                if (j < s.length() && inside.toString().replace(" ", "").equals("::-1")) {
                    out.append("|reverse");
                    i = j;
                    continue;
                }
            }
            out.append(c);
        }
        return out.toString();
    }
}
