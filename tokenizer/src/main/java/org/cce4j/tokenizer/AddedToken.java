package org.cce4j.tokenizer;

/**
 * A token added on top of the model's vocabulary (tokenizer.json's {@code added_tokens}): special
 * tokens like {@code <|eot_id|>}, or plain ones. {@code normalized}: matched in the normalized
 * text rather than the input; {@code lstrip}/{@code rstrip}: swallows the whitespace on that side;
 * {@code singleWord}: only matches when not inside a word.
 */
public record AddedToken(int id, String content, boolean special, boolean normalized,
                         boolean lstrip, boolean rstrip, boolean singleWord) {}
