package org.cce4j.tokenizer.chat;

import org.cce4j.tokenizer.TokenizerException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The spans of assistant turns for a template without generation blocks, from renderings of the
 * conversation's prefixes. For assistant message i, with P = the messages before it rendered with
 * the generation prompt and T = the messages through it rendered without:
 * <ul>
 *   <li>the span starts at |P|: P must be where the whole rendering starts, and where T starts
 *       (the generation prompt is how the template opens an assistant turn);</li>
 *   <li>it ends at |T| when the whole rendering starts with T, so it holds the reply and all that
 *       the template writes after it for that turn, the end-of-turn text included (e.g.
 *       {@code <|eot_id|>}, {@code <end_of_turn>\n}, {@code <|im_end|>\n}): what the model must
 *       learn to write, and to stop with;</li>
 *   <li>else the template renders the turn differently once messages follow it (Qwen 3 puts an
 *       empty {@code <think>} block into the last reply only). Then the reply is rendered once more
 *       with a marker character after it, in the whole conversation and in T: where each first
 *       differs from the plain rendering is where the reply's text ends in it, and T's text after
 *       that point (the turn's end-of-turn text) must follow the reply in the whole rendering too;
 *       the span ends after it. This needs a string content, and costs two renderings more.</li>
 * </ul>
 * Spans must come in order without overlapping; a template for which any of this fails is refused
 * with a message that suggests a template with generation blocks.
 */
final class SpanFinder {
    /** A noncharacter appended to a reply to find where its text ends in a rendering. */
    private static final String MARK = "\uFDD2";

    private SpanFinder() {}

    static List<ChatTemplate.Span> spans(ChatTemplate template, List<Map<String, Object>> messages, boolean addGenerationPrompt,
                                         Map<String, Object> extra, boolean lastOnly) {
        String full = template.render(messages, addGenerationPrompt, extra);
        List<Integer> assistants = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) if ("assistant".equals(messages.get(i).get("role"))) assistants.add(i);
        if (lastOnly && assistants.size() > 1) assistants = List.of(assistants.get(assistants.size() - 1));
        List<ChatTemplate.Span> spans = new ArrayList<>();
        int previousEnd = 0;
        for (int i : assistants) {
            String prompt = template.render(messages.subList(0, i), true, extra);
            if (!full.startsWith(prompt)) {
                throw refuse(i, "the messages before it render differently inside the whole conversation");
            }
            String through = template.render(messages.subList(0, i + 1), false, extra);
            if (!through.startsWith(prompt)) {
                throw refuse(i, "its turn does not start with the generation prompt");
            }
            int start = prompt.length();
            int end = full.startsWith(through) ? through.length() : rewrittenTurnEnd(template, messages, i, full, through, start, addGenerationPrompt, extra);
            if (start < previousEnd) throw refuse(i, "its span would overlap the previous assistant turn's");
            spans.add(new ChatTemplate.Span(i, start, end));
            previousEnd = end;
        }
        return List.copyOf(spans);
    }

    /** The end of assistant turn i in {@code full} when the template rendered that turn differently at the end of {@code through}. */
    private static int rewrittenTurnEnd(ChatTemplate template, List<Map<String, Object>> messages, int i, String full, String through,
                                        int start, boolean addGenerationPrompt, Map<String, Object> extra) {
        if (!(messages.get(i).get("content") instanceof String content)) {
            throw refuse(i, "the template renders it differently once messages follow, and its content is not a string");
        }
        List<Map<String, Object>> marked = new ArrayList<>(messages);
        Map<String, Object> m = new LinkedHashMap<>(messages.get(i));
        m.put("content", content + MARK);
        marked.set(i, m);
        int replyEndInFull = commonPrefix(full, template.render(marked, addGenerationPrompt, extra));
        int replyEndInThrough = commonPrefix(through, template.render(marked.subList(0, i + 1), false, extra));
        String endOfTurn = through.substring(replyEndInThrough);
        if (replyEndInFull < start || replyEndInThrough < start || !full.startsWith(endOfTurn, replyEndInFull)) {
            throw refuse(i, "the template renders it differently once messages follow, and its end cannot be found");
        }
        return replyEndInFull + endOfTurn.length();
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length()), k = 0;
        while (k < n && a.charAt(k) == b.charAt(k)) k++;
        return k;
    }

    private static TokenizerException refuse(int message, String why) {
        return new TokenizerException("cannot find assistant message " + message + " in the rendered chat: " + why
                + " (a chat template with {% generation %} blocks marks the assistant's text exactly)");
    }
}
