package org.cce4j.trainer.data;

/**
 * Why a line of a rows file is not a training row. Each kind has a stable name (the key the skip
 * counts are reported under). The reader checks in this order and reports the first that applies,
 * so a line is counted once, under one kind.
 */
public enum BadRow {
    /** The line's bytes are not UTF-8. */
    NOT_UTF8("not_utf8"),
    /** The line is empty or only whitespace. */
    BLANK_LINE("blank_line"),
    /** The line is not one JSON value (syntax error, duplicate key, trailing text). */
    INVALID_JSON("invalid_json"),
    /** The line is JSON but not an object. */
    NOT_AN_OBJECT("not_an_object"),
    /** No {@code input_ids}, null, or not an array. */
    MISSING_INPUT_IDS("missing_input_ids"),
    /** {@code input_ids} is []. */
    EMPTY_INPUT_IDS("empty_input_ids"),
    /** An id that is not an integer in [0, vocabulary size). */
    INVALID_INPUT_ID("invalid_input_id"),
    /** {@code labels} is not an array, or has another length than {@code input_ids}. */
    LABELS_LENGTH("labels_length"),
    /** A label that is neither -100 nor an integer in [0, vocabulary size). */
    INVALID_LABEL("invalid_label"),
    /** Longer than seq_len while overflow = error. */
    TOO_LONG("too_long"),
    /** No t >= 1 with labels[t] != -100 (after truncation to seq_len): nothing to train on. */
    NO_TARGETS("no_targets");

    private final String key;

    BadRow(String key) {
        this.key = key;
    }

    /** The name the skip counts are reported under, e.g. {@code no_targets}. */
    public String key() {
        return key;
    }
}
