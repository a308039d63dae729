package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.chat.ChatTemplate;

import java.util.List;
import java.util.Map;

/**
 * Stanford Alpaca's prompt (tatsu-lab/stanford_alpaca, train.py, PROMPT_DICT), the text every
 * Alpaca-trained model was trained with, so it is reproduced word for word: one form with an input,
 * one without (used when the input is absent or ""). Its train.py then trains on
 * {@code output + eos_token} after the prompt with the prompt's tokens masked, which is the
 * prompt/completion tokenization ({@link PromptCompletionEncoder}); the response follows
 * "### Response:" directly, as there. In the chat style the user's message is the instruction,
 * followed by a blank line and the input when there is one, and the assistant's is the output.
 */
final class AlpacaPrompt {
    private static final String WITH_INPUT = "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:";
    private static final String WITHOUT_INPUT = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Response:";

    private AlpacaPrompt() {}

    /** The prompt for an instruction and an input (null or "" = none). */
    static String prompt(String instruction, String input) {
        return input == null || input.isEmpty() ? WITHOUT_INPUT.formatted(instruction) : WITH_INPUT.formatted(instruction, input);
    }

    /** The conversation of the chat style. */
    static List<Map<String, Object>> messages(String instruction, String input, String output) {
        String user = input == null || input.isEmpty() ? instruction : instruction + "\n\n" + input;
        return List.of(ChatTemplate.message("user", user), ChatTemplate.message("assistant", output));
    }
}
