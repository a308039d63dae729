package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;

/**
 * Plain text → one row, every token trained on, as TRL's SFTTrainer prepares a language-modelling
 * dataset: the tokenizer's eos_token appended to the text when it does not already end with it
 * (TRL's add_eos step: the string, so the tokenizer finds it as its special token), then the text
 * tokenized with the tokenizer's special tokens (its post-processor: Llama's and Gemma's BOS in
 * front; Qwen's none).
 */
final class TextEncoder {
    private final Tokenizer tokenizer;
    private final String eos;

    TextEncoder(Tokenizer tokenizer, boolean addEos) {
        this.tokenizer = tokenizer;
        this.eos = addEos ? tokenizer.config().eosToken() : null;
    }

    EncodedRow encode(String text) throws BadRowException {
        if (text.isBlank()) throw new BadRowException(BadRow.EMPTY_TEXT, "the text is empty" + (text.isEmpty() ? "" : " (only whitespace)"));
        int[] ids = tokenizer.encode(withEos(text), true);
        return new EncodedRow(ids, ids);
    }

    /** {@code text} with the eos_token after it, unless it ends with it already or EOS is not added. */
    String withEos(String text) {
        return eos == null || text.endsWith(eos) ? text : text + eos;
    }
}
