package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

import java.util.Locale;

/** What happens to a row longer than seq_len (the config's {@code data.overflow}). */
public enum Overflow {
    /** Keep its first seq_len tokens (and labels); counted in the report. */
    TRUNCATE,
    /**
     * Cut it into pieces of at most seq_len tokens, each starting with the last token of the one
     * before, so that every target of the row is in exactly one piece (a piece's first token is
     * context only); pieces left without a target are dropped and counted.
     */
    SPLIT,
    /** Refuse it, naming its line (or skip it, with skip_bad_rows). */
    ERROR;

    /** {@code truncate}, {@code split} or {@code error}, as the config writes it. */
    public static Overflow parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "truncate" -> TRUNCATE;
            case "split" -> SPLIT;
            case "error" -> ERROR;
            default -> throw new InvalidInputException("data.overflow must be truncate, split or error, got '" + s + "'");
        };
    }
}
