package org.cce4j.tokenizer.chat;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * In Jinja a keyword argument's value is a whole expression ({@code namespace(last=messages|length - 1)}
 * passes {@code (messages|length) - 1}); Jinjava's parser ends the value at the filter, then applies
 * the rest to the named parameter itself and fails (Qwen 3's template does this). This rewrite puts
 * each keyword argument's value in parentheses: inside each {@code {{ }}} and {@code {% %}}, an
 * {@code name=} directly inside a call's parentheses (not {@code ==}) has its value run to the next
 * comma or closing parenthesis at its depth, outside strings.
 */
final class KeywordArguments {
    private KeywordArguments() {}

    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length() + 16);
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

    /** Parenthesizes every keyword argument value of one tag's body. */
    static String rewriteExpression(String s) {
        StringBuilder out = new StringBuilder(s.length() + 8);
        Deque<Character> brackets = new ArrayDeque<>();
        Deque<Integer> valueDepths = new ArrayDeque<>(); // bracket depths at which a value is open, innermost first
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                out.append(c);
                if (c == '\\' && i + 1 < s.length()) out.append(s.charAt(++i));
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                out.append(c);
                continue;
            }
            boolean closesValue = !valueDepths.isEmpty() && valueDepths.peek() == brackets.size()
                    && (c == ',' || c == ')');
            if (closesValue) {
                out.append(')');
                valueDepths.pop();
            }
            if (c == '(' || c == '[' || c == '{') brackets.push(c);
            else if ((c == ')' || c == ']' || c == '}') && !brackets.isEmpty()) brackets.pop();
            out.append(c);
            if (c == '=' && isKeywordEquals(s, i) && !brackets.isEmpty() && brackets.peek() == '(') {
                out.append('(');
                valueDepths.push(brackets.size());
            }
        }
        while (!valueDepths.isEmpty()) { // an unclosed call: leave it as Jinjava will report it
            out.append(')');
            valueDepths.pop();
        }
        return out.toString();
    }

    /** A lone '=' after an identifier: not ==, !=, <=, >=, and not followed by '='. */
    private static boolean isKeywordEquals(String s, int i) {
        if (i + 1 < s.length() && s.charAt(i + 1) == '=') return false;
        int j = i - 1;
        while (j >= 0 && Character.isWhitespace(s.charAt(j))) j--;
        if (j < 0 || !(Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) return false;
        char before = i > 0 ? s.charAt(i - 1) : ' ';
        return before != '=' && before != '!' && before != '<' && before != '>';
    }
}
