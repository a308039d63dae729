package org.cce4j.tokenizer.chat;

import java.util.Set;

/**
 * Jinja's unary {@code not} binds looser than comparisons and tests ({@code not x is defined} is
 * {@code not (x is defined)}, {@code not a|length == 1} is {@code not (a|length == 1)}); Jinjava's
 * binds tighter. This rewrite adds the parentheses Jinja implies: inside each {@code {{ }}} and
 * {@code {% %}}, a unary {@code not}'s operand runs to the next {@code and}, {@code or},
 * {@code if}, {@code else}, comma or closing bracket at its depth. {@code is not} and
 * {@code not in} are operators, not unary {@code not}, and are left alone.
 */
final class NotPrecedence {
    private static final Set<String> BEFORE_UNARY = Set.of("", "(", "[", "{", ",", "=", ":", "and", "or", "not", "if", "elif",
            "else", "{{", "{%", "{{-", "{%-", "set", "return", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "~");

    private NotPrecedence() {}

    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length() + 16);
        int i = 0, n = template.length();
        while (i < n) {
            int open = nextTag(template, i);
            if (open < 0) {
                out.append(template, i, n);
                break;
            }
            out.append(template, i, open);
            boolean expr = template.startsWith("{{", open);
            int close = findClose(template, open + 2, expr ? "}}" : "%}");
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

    static int nextTag(String t, int from) {
        int a = t.indexOf("{{", from), b = t.indexOf("{%", from);
        if (a < 0) return b;
        if (b < 0) return a;
        return Math.min(a, b);
    }

    static int findClose(String t, int from, String close) {
        char quote = 0;
        for (int i = from; i < t.length() - 1; i++) {
            char c = t.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') quote = c;
            else if (t.startsWith(close, i)) return i;
        }
        return -1;
    }

    /** Parenthesizes the operand of each unary not in one tag's body. */
    static String rewriteExpression(String body) {
        String s = body;
        int searchFrom = 0;
        while (true) {
            int at = findNot(s, searchFrom);
            if (at < 0) return s;
            int start = at + 3;
            int end = operandEnd(s, start);
            s = s.substring(0, start) + " (" + s.substring(start, end) + ")" + s.substring(end);
            searchFrom = start;
        }
    }

    /** The index of the next unary `not` keyword at or after from, outside strings, or -1. */
    private static int findNot(String s, int from) {
        char quote = 0;
        String prev = "";
        for (int i = 0; i < s.length(); ) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) { quote = 0; prev = "lit"; }
                i++;
                continue;
            }
            if (c == '\'' || c == '"') { quote = c; i++; continue; }
            if (Character.isWhitespace(c)) { i++; continue; }
            if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
                int j = i;
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_' || s.charAt(j) == '.')) j++;
                String word = s.substring(i, j);
                if (word.equals("not") && i >= from && BEFORE_UNARY.contains(prev)) {
                    int k = j;
                    while (k < s.length() && Character.isWhitespace(s.charAt(k))) k++;
                    boolean alreadyParenthesized = false;
                    if (k < s.length() && s.charAt(k) == '(') {
                        int close = matching(s, k);
                        alreadyParenthesized = close > 0 && operandEnd(s, j) == close + 1;
                    }
                    if (!alreadyParenthesized) return i;
                }
                prev = isKeyword(word) ? word : "id";
                i = j;
                continue;
            }
            int len = 1;
            if (i + 1 < s.length() && "==!=<=>=".contains(s.substring(i, i + 2)) && s.substring(i, i + 2).matches("==|!=|<=|>=")) len = 2;
            prev = s.substring(i, i + len);
            if (prev.equals(")") || prev.equals("]") || prev.equals("}")) prev = "id";
            i += len;
        }
        return -1;
    }

    private static boolean isKeyword(String w) {
        return switch (w) {
            case "and", "or", "not", "if", "elif", "else", "in", "is", "set", "return", "for" -> true;
            default -> false;
        };
    }

    private static int matching(String s, int open) {
        int depth = 0;
        char quote = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                depth--;
                if (depth == 0) return i;
            }
        }
        return -1;
    }

    /** Where the operand starting at from ends: the next and/or/if/else, comma or unmatched closer at depth 0. */
    private static int operandEnd(String s, int from) {
        int depth = 0;
        char quote = 0;
        int i = from;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                i++;
                continue;
            }
            if (c == '\'' || c == '"') { quote = c; i++; continue; }
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) break;
                depth--;
            } else if (depth == 0 && c == ',') break;
            else if (depth == 0 && c == '-' && (s.startsWith("-", i) && i + 1 == s.length())) break;   // the '-' of -%} / -}}
            else if (depth == 0 && Character.isLetter(c) && (i == 0 || !Character.isLetterOrDigit(s.charAt(i - 1)) && s.charAt(i - 1) != '_' && s.charAt(i - 1) != '.')) {
                int j = i;
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) j++;
                String w = s.substring(i, j);
                if (w.equals("and") || w.equals("or") || w.equals("if") || w.equals("else")) break;
                i = j;
                continue;
            }
            i++;
        }
        int end = i;
        while (end > from && Character.isWhitespace(s.charAt(end - 1))) end--;
        return end;
    }
}
