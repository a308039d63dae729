package org.cce4j.trainer.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Question/answer pairs from the Debian FAQ's plain text (debian-faq.en.txt, as the Debian package
 * ships it): each numbered section whose heading is a question ("1.2. What is Debian GNU/Linux?") is a
 * question, and the first paragraphs of its text, joined into one line and cut at a sentence end near
 * {@code maxAnswerChars}, are its answer (without footnote marks, and without a last sentence that
 * introduces a list or a command with a colon). Headings that are not questions, the table of contents (its
 * entries are indented) and sections with no prose are left out. The text is reflowed: the FAQ wraps
 * at 70 columns and indents with no-break spaces.
 */
public final class FaqPairs {
    /** One pair. */
    public record Pair(String question, String answer) {}

    /** A section heading at the start of a line: "1.2." then a no-break or plain space, then its title. */
    private static final Pattern HEADING = Pattern.compile("^(\\d+)\\.(\\d+)\\.[\\u00a0 ]+(\\S.*)$");
    /** A chapter heading ("1. Definitions and overview"): ends the section before it. */
    private static final Pattern CHAPTER = Pattern.compile("^\\d+\\.[\\u00a0 ]+\\S.*$");

    private FaqPairs() {}

    public static List<Pair> parse(String faqText, int maxAnswerChars) {
        String[] lines = faqText.replace("\r", "").split("\n", -1);
        List<Pair> pairs = new ArrayList<>();
        int i = 0;
        while (i < lines.length) {
            Matcher h = HEADING.matcher(lines[i]);
            if (!h.matches()) {
                i++;
                continue;
            }
            StringBuilder title = new StringBuilder(h.group(3).strip());
            i++;
            while (i < lines.length && !lines[i].isBlank() && !lines[i].startsWith(" ") && !lines[i].startsWith("\u00a0")) {
                title.append(' ').append(lines[i].strip());   // a wrapped heading
                i++;
            }
            List<String> paragraphs = new ArrayList<>();
            StringBuilder para = new StringBuilder();
            while (i < lines.length && !HEADING.matcher(lines[i]).matches() && !CHAPTER.matcher(lines[i]).matches()) {
                String l = clean(lines[i]);
                if (l.isEmpty()) {
                    if (!para.isEmpty()) paragraphs.add(para.toString());
                    para.setLength(0);
                } else {
                    if (!para.isEmpty()) para.append(' ');
                    para.append(l);
                }
                i++;
            }
            if (!para.isEmpty()) paragraphs.add(para.toString());
            String question = clean(title.toString());
            String answer = answer(paragraphs, maxAnswerChars);
            if (question.endsWith("?") && answer != null) pairs.add(new Pair(question, answer));
        }
        return pairs;
    }

    /** The first prose paragraphs, up to about maxChars, ending at a sentence end; null when there is none. */
    private static String answer(List<String> paragraphs, int maxChars) {
        StringBuilder a = new StringBuilder();
        for (String p : paragraphs) {
            if (p.startsWith("* ") || p.startsWith("$ ") || p.startsWith("# ") || !Character.isLetter(p.charAt(0))) {
                if (a.isEmpty()) continue;   // a list, a command line, a code block: prose only
                break;
            }
            if (!a.isEmpty()) a.append(' ');
            a.append(p);
            if (a.length() >= maxChars / 2) break;
        }
        String text = a.toString().replaceAll("\\s*\\^\\[\\d+]", "");   // footnote marks
        if (text.endsWith(":")) {   // a sentence that introduces a list or a command: the answer ends before it
            int lastEnd = Math.max(text.lastIndexOf(". "), Math.max(text.lastIndexOf("? "), text.lastIndexOf("! ")));
            if (lastEnd > 0) text = text.substring(0, lastEnd + 1);
        }
        a = new StringBuilder(text);
        if (a.length() < 20) return null;
        if (a.length() <= maxChars) return a.toString();
        int cut = -1;
        for (int k = 0; k < maxChars; k++) {
            char c = a.charAt(k);
            if ((c == '.' || c == '!' || c == '?') && k + 1 < a.length() && a.charAt(k + 1) == ' ') cut = k + 1;
        }
        return cut > 40 ? a.substring(0, cut) : a.substring(0, maxChars).strip() + "...";
    }

    /** One line of the FAQ without its indentation, no-break spaces as spaces, runs of spaces as one. */
    private static String clean(String s) {
        return s.replace('\u00a0', ' ').replaceAll("\\s+", " ").strip()
                .replace('\u201c', '"').replace('\u201d', '"').replace('\u2018', '\'').replace('\u2019', '\'');
    }
}
