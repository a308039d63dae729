package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.databind.JsonNode;
import org.cce4j.trainer.data.BadRowException;

/**
 * One JSON row of a text format → its token row, reading the fields the format has. One per format
 * ({@link #of}); each names what it needs in its bad-row messages.
 */
interface RowEncoder {
    EncodedRow encode(JsonNode row) throws BadRowException;

    static RowEncoder of(DataFormat format, FormatOptions options, Encoders encoders) {
        return switch (format) {
            case TEXT -> row -> encoders.text().encode(RowFields.string(row, "text"));
            case PROMPT_COMPLETION -> row -> encoders.promptCompletion().encode(RowFields.string(row, "prompt"), RowFields.string(row, "completion"));
            case CHAT -> row -> encoders.chat().encode(RowFields.messages(row));
            case ALPACA -> row -> {
                String instruction = RowFields.string(row, "instruction");
                String input = RowFields.optionalString(row, "input");
                String output = RowFields.string(row, "output");
                if (output.isBlank()) {
                    throw new BadRowException(org.cce4j.trainer.data.BadRow.EMPTY_COMPLETION, "the output is empty" + (output.isEmpty() ? "" : " (only whitespace)"));
                }
                return options.alpacaStyle() == AlpacaStyle.PROMPT
                        ? encoders.promptCompletion().encode(AlpacaPrompt.prompt(instruction, input), output)
                        : encoders.chat().encode(AlpacaPrompt.messages(instruction, input, output));
            };
            case TOKENS -> throw new IllegalArgumentException("token rows are read by RowFileReader");
        };
    }
}
