package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Encoding;
import org.cce4j.tokenizer.chat.ChatTemplate;

import java.util.Arrays;
import java.util.List;

/**
 * Character spans of a text → labels of its tokens: a token is trained on (label = its id) when its
 * span of the text holds at least one character of a trained span, i.e. [start, end) overlaps it;
 * else -100. So a token that straddles a span's edge (a byte-level token that holds the end of the
 * prompt and the start of the reply, or the bytes of a character the span starts in) is trained on:
 * the model must produce it to produce the reply. Tokens with an empty span (what the
 * post-processor adds) and empty spans never train.
 *
 * <p>This is transformers' rule ({@code apply_chat_template(..., return_assistant_tokens_mask=True)}:
 * from the token holding a block's first character to the token holding its last) wherever the two
 * can be told apart only in corner cases the end-of-turn text keeps away from real templates: when
 * a block's last character is split over several byte-level tokens, transformers marks only the
 * first of them, and when that character maps to no token it marks to the end of the sequence.
 */
final class SpanLabels {
    private SpanLabels() {}

    static int[] labels(Encoding e, List<ChatTemplate.Span> spans) {
        int[] ids = e.ids(), starts = e.starts(), ends = e.ends();
        int[] labels = new int[ids.length];
        Arrays.fill(labels, -100);
        for (int t = 0; t < ids.length; t++) {
            if (ends[t] <= starts[t]) continue;
            for (ChatTemplate.Span s : spans) {
                if (s.end() > s.start() && starts[t] < s.end() && ends[t] > s.start()) {
                    labels[t] = ids[t];
                    break;
                }
            }
        }
        return labels;
    }
}
