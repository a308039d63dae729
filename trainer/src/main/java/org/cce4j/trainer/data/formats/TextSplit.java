package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;

import java.util.Locale;

/** How a .txt file is cut into documents, one training row each (the config's {@code data.text_split}). */
public enum TextSplit {
    /** The whole file is one document, its text as it is. */
    FILE,
    /** Documents are separated by one or more blank (empty or whitespace-only) lines; a document's lines are joined with "\n". */
    BLANK_LINES;

    public static TextSplit parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "file" -> FILE;
            case "blank_lines" -> BLANK_LINES;
            default -> throw new InvalidInputException("data.text_split must be file or blank_lines, got '" + s + "'");
        };
    }
}
