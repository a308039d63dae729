package org.cce4j.trainer.data;

/**
 * Why a line of a rows file (or a row of any data format) is not a training row. Each kind has a
 * stable name (the key the skip counts are reported under). The readers check in this order and
 * report the first that applies, so a row is counted once, under one kind. The kinds from
 * MISSING_FIELD to INVALID_TEXT are those of text data (org.cce4j.trainer.data.formats); a rows
 * file of token ids has none of them.
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
    /** A field the row's format needs is absent or null (e.g. no {@code completion} in a prompt_completion file). */
    MISSING_FIELD("missing_field"),
    /** A field of the wrong type or shape: a prompt that is not a string, messages that are not a list of {role, content} objects. */
    INVALID_FIELD("invalid_field"),
    /** A text, or a document of a .txt file, that is empty or only whitespace. */
    EMPTY_TEXT("empty_text"),
    /** A completion (or alpaca output) that is empty or only whitespace: nothing to learn but the end of text. */
    EMPTY_COMPLETION("empty_completion"),
    /** The chat template refused the conversation (raise_exception: a role it does not know, roles out of order) or failed on it. */
    TEMPLATE_ERROR("template_error"),
    /** A string the tokenizer cannot take: a lone surrogate from a JSON escape such as "\ud800" (not Unicode text). */
    INVALID_TEXT("invalid_text"),
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
    /** No t >= 1 with labels[t] != -100 (after truncation to seq_len, or in every piece of a split row): nothing to train on. */
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
