package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerException;
import org.cce4j.tokenizer.chat.ChatTemplate;

import java.util.function.Supplier;

/**
 * The encoders a dataset may need, made when first asked for: the chat template is only looked up
 * (and a tokenizer without one refused) when a format needs it.
 */
final class Encoders {
    private final Tokenizer tokenizer;
    private final FormatOptions options;
    private final Supplier<ChatTemplate> template;
    private TextEncoder text;
    private PromptCompletionEncoder promptCompletion;
    private ChatEncoder chat;

    Encoders(Tokenizer tokenizer, FormatOptions options, Supplier<ChatTemplate> template) {
        this.tokenizer = tokenizer;
        this.options = options;
        this.template = template;
    }

    TextEncoder text() {
        if (text == null) text = new TextEncoder(tokenizer, options.addEos());
        return text;
    }

    PromptCompletionEncoder promptCompletion() {
        if (promptCompletion == null) promptCompletion = new PromptCompletionEncoder(tokenizer, options.addEos());
        return promptCompletion;
    }

    ChatEncoder chat() {
        if (chat == null) {
            ChatTemplate t;
            try {
                t = template.get();
            } catch (TokenizerException e) {
                throw new InvalidInputException("chat rows need a chat template: " + e.getMessage() + " (set data.chat_template to a .jinja file)");
            }
            chat = new ChatEncoder(tokenizer, t, options.trainOn());
        }
        return chat;
    }

    /** Where the chat encoder's spans come from, or null when no chat row was encoded. */
    String spanSource() {
        if (chat == null) return null;
        if (options.trainOn() == TrainOn.ALL) return null;
        return chat.template().hasGenerationTags() ? "the template's generation blocks" : "renderings of each conversation's prefixes";
    }
}
