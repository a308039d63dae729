package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;

import java.util.Locale;

/** How alpaca rows are turned into text (the config's {@code data.alpaca_style}). */
public enum AlpacaStyle {
    /** Stanford Alpaca's prompt text, as a prompt/completion pair ({@link AlpacaPrompt}). */
    PROMPT,
    /** The chat template: user = instruction (and input), assistant = output. */
    CHAT;

    public static AlpacaStyle parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "prompt" -> PROMPT;
            case "chat" -> CHAT;
            default -> throw new InvalidInputException("data.alpaca_style must be prompt or chat, got '" + s + "'");
        };
    }
}
