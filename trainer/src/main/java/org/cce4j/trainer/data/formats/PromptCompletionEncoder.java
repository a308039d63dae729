package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;

import java.util.Arrays;

/**
 * A prompt and its completion → one row with the loss on the completion only, exactly as TRL's
 * SFTTrainer tokenizes a (non-conversational) prompt-completion dataset (trl/trainer/sft_trainer.py,
 * {@code _prepare_dataset}: add_eos, then tokenize_fn's prompt-completion branch; trl/data_utils.py
 * {@code _tokenize}):
 * <ol>
 *   <li>the eos_token is appended to the completion's text unless it ends with it already;</li>
 *   <li>prompt_ids = the prompt tokenized with special tokens (BOS from the post-processor);</li>
 *   <li>input_ids = prompt + completion tokenized with special tokens, as one text;</li>
 *   <li>the first |prompt_ids| tokens are the prompt (label -100), the rest the completion.</li>
 * </ol>
 * When tokens merge across the boundary (a prompt ending in a space before a completion starting
 * with a word: "Answer: " + "yes" tokenizes as ..."Answer", ":", " yes"), prompt_ids is not a
 * prefix of input_ids; TRL only warns and masks the first |prompt_ids| tokens all the same, and so
 * do we, marking the row so that the reader counts it (the report says how many). BOS is never
 * trained on in any case: position 0 is no target.
 */
final class PromptCompletionEncoder {
    private final Tokenizer tokenizer;
    private final TextEncoder eos;

    PromptCompletionEncoder(Tokenizer tokenizer, boolean addEos) {
        this.tokenizer = tokenizer;
        this.eos = new TextEncoder(tokenizer, addEos);
    }

    EncodedRow encode(String prompt, String completion) throws BadRowException {
        if (completion.isBlank()) {
            throw new BadRowException(BadRow.EMPTY_COMPLETION, "the completion is empty" + (completion.isEmpty() ? "" : " (only whitespace)"));
        }
        int[] promptIds = tokenizer.encode(prompt, true);
        int[] ids = tokenizer.encode(prompt + eos.withEos(completion), true);
        int n = Math.min(promptIds.length, ids.length);
        boolean merged = promptIds.length > ids.length || !Arrays.equals(promptIds, 0, n, ids, 0, n);
        int[] labels = ids.clone();
        Arrays.fill(labels, 0, n, -100);
        return new EncodedRow(ids, labels, merged);
    }
}
