package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Encoding;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerException;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;

import java.util.List;
import java.util.Map;

/**
 * A conversation → one row: the chat template renders it (no generation prompt: it ends with the
 * last message), the text is tokenized without the tokenizer's own special tokens (the template
 * writes BOS itself, as transformers' apply_chat_template tokenizes), and the labels come from the
 * assistant spans ({@link ChatTemplate#renderWithSpans}: the template's generation blocks, or
 * renderings of the conversation's prefixes) through {@link SpanLabels}. What a span holds is the
 * template's: with generation blocks, what they enclose; from prefixes, the reply and its
 * end-of-turn text ({@code <|eot_id|>}; {@code <end_of_turn>\n}; Qwen 3's {@code <|im_end|>\n},
 * with the {@code <think>} block the template writes into the last reply), never the turn's header,
 * which the generation prompt gives the model at inference.
 */
final class ChatEncoder {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final TrainOn trainOn;

    ChatEncoder(Tokenizer tokenizer, ChatTemplate template, TrainOn trainOn) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.trainOn = trainOn;
    }

    ChatTemplate template() {
        return template;
    }

    EncodedRow encode(List<Map<String, Object>> messages) throws BadRowException {
        try {
            if (trainOn == TrainOn.ALL) {
                int[] ids = tokenizer.encode(template.render(messages, false, null), false);
                return new EncodedRow(ids, ids);
            }
            ChatTemplate.Rendered r = trainOn == TrainOn.LAST_ASSISTANT
                    ? template.renderWithLastSpan(messages, false, null) : template.renderWithSpans(messages, false, null);
            if (r.assistantSpans().isEmpty()) {
                throw new BadRowException(BadRow.NO_TARGETS, "no assistant turn to train on (data.train_on = " + trainOn.name().toLowerCase() + ")");
            }
            Encoding e = tokenizer.encodeWithOffsets(r.text(), false);
            return new EncodedRow(e.ids(), SpanLabels.labels(e, r.assistantSpans()));
        } catch (TokenizerException e) {
            throw new BadRowException(BadRow.TEMPLATE_ERROR, e.getMessage());
        }
    }
}
