package org.cce4j.trainer.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.tokenizer.train.BpeTrainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The demo model's tokenizer: a byte-level BPE (the Llama 3 kind, {@link BpeTrainer}) trained on the
 * demo's own texts, written as Hugging Face's tokenizer.json and tokenizer_config.json. Its special
 * tokens are the end of a text (EOS and padding) and the chat turns' markers; the chat template writes
 * {@code <|user|>question<|end|><|assistant|>answer<|end|>} and marks each assistant reply and its
 * {@code <|end|>} with {@code {% generation %}} blocks, so that a chat fine-tune trains on exactly those
 * tokens (transformers' assistant masks), and a generation stops at {@code <|end|>}.
 */
public final class DemoTokenizer {
    public static final String EOS = "<|endoftext|>", USER = "<|user|>", ASSISTANT = "<|assistant|>", END = "<|end|>";
    public static final List<String> SPECIALS = List.of(EOS, USER, ASSISTANT, END);
    public static final String CHAT_TEMPLATE = "{% for m in messages %}"
            + "{% if m['role'] == 'user' %}" + USER + "{{ m['content'] }}" + END
            + "{% elif m['role'] == 'assistant' %}" + ASSISTANT + "{% generation %}{{ m['content'] }}" + END + "{% endgeneration %}"
            + "{% else %}{{ raise_exception('the demo template has user and assistant turns, not ' + m['role']) }}{% endif %}"
            + "{% endfor %}{% if add_generation_prompt %}" + ASSISTANT + "{% endif %}";

    private DemoTokenizer() {}

    /** Trains on {@code texts} and writes tokenizer.json and tokenizer_config.json into {@code folder}. */
    public static void train(Iterable<String> texts, int vocabSize, Path folder) throws IOException {
        new BpeTrainer(vocabSize, 2, SPECIALS).trainToFile(texts, folder.resolve("tokenizer.json"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.put("tokenizer_class", "PreTrainedTokenizerFast").put("eos_token", EOS).put("pad_token", EOS)
                .put("model_max_length", 1 << 20).put("clean_up_tokenization_spaces", false).put("chat_template", CHAT_TEMPLATE);
        AtomicFiles.writeString(folder.resolve("tokenizer_config.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n");
    }
}
