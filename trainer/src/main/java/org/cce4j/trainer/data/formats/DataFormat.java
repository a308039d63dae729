package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.databind.JsonNode;
import org.cce4j.core.InvalidInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The formats a training file may be in (the config's {@code data.format}), and how a JSONL file's
 * format is told from the fields of its first row when it is not given. The order of the checks
 * is the order of the constants: pre-tokenized ids win over text fields (a rows file may keep its
 * text beside its ids), then the most specific text formats.
 */
public enum DataFormat {
    /** {@code {"input_ids": [...], "labels": [...]}}: token ids, read by the rows file reader. */
    TOKENS("tokens"),
    /** {@code {"messages": [{"role": ..., "content": ...}, ...]}}: rendered with the chat template. */
    CHAT("chat"),
    /** {@code {"prompt": ..., "completion": ...}}: loss on the completion only. */
    PROMPT_COMPLETION("prompt_completion"),
    /** {@code {"instruction": ..., "input": ..., "output": ...}}: Stanford Alpaca's prompt, or the chat template. */
    ALPACA("alpaca"),
    /** {@code {"text": ...}} rows, or .txt files: every token trained on. */
    TEXT("text");

    private final String key;

    DataFormat(String key) {
        this.key = key;
    }

    /** The name the config uses. */
    public String key() {
        return key;
    }

    /** A format by its config name; {@code auto} (and null) is null: detect it. */
    public static DataFormat parse(String s) {
        if (s == null || s.equalsIgnoreCase("auto")) return null;
        for (DataFormat f : values()) if (f.key.equals(s.toLowerCase(Locale.ROOT))) return f;
        throw new InvalidInputException("data.format must be auto, text, tokens, prompt_completion, chat or alpaca, got '" + s + "'");
    }

    /** The format a row's fields say, or null when none fits. */
    public static DataFormat of(JsonNode row) {
        if (row.has("input_ids")) return TOKENS;
        if (row.has("messages")) return CHAT;
        if (row.has("prompt") && row.has("completion")) return PROMPT_COMPLETION;
        if (row.has("instruction") && row.has("output")) return ALPACA;
        if (row.has("text")) return TEXT;
        return null;
    }

    /** Why {@link #of} found no format, for the user: the fields the row has and those each format needs. */
    static String noFormat(JsonNode row) {
        List<String> fields = new ArrayList<>();
        row.fieldNames().forEachRemaining(fields::add);
        return "cannot tell the data format from the fields " + fields + " (input_ids = tokens, messages = chat, prompt + completion"
                + " = prompt_completion, instruction + output = alpaca, text = text); set data.format";
    }
}
