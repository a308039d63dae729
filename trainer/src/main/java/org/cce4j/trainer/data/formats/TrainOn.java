package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;

import java.util.Locale;

/** Which tokens of a chat are trained on (the config's {@code data.train_on}). */
public enum TrainOn {
    /** Every assistant turn (the default, as TRL's assistant_only_loss). */
    ASSISTANT,
    /** Only the last assistant turn: the earlier ones are context. */
    LAST_ASSISTANT,
    /** Every token of the rendered conversation, prompts and template text included. */
    ALL;

    public static TrainOn parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "assistant" -> ASSISTANT;
            case "last_assistant" -> LAST_ASSISTANT;
            case "all" -> ALL;
            default -> throw new InvalidInputException("data.train_on must be assistant, last_assistant or all, got '" + s + "'");
        };
    }
}
