package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;

import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The entry point: training data as users bring it → token rows. A folder or a *.txt file is plain
 * text; any other file is JSONL in the format given or detected from its first row ({@link
 * DataFormat}): token ids (read by the rows file reader), text, prompt/completion, chat or alpaca
 * rows, tokenized with the model's tokenizer. Each row then goes through the same length rules and
 * bad-row handling as a rows file of ids (trainer.data's RowCollector): {@code file:line: what} as
 * an InvalidInputException, or skipped and counted with skip_bad_rows.
 */
public final class DatasetReader {
    private DatasetReader() {}

    /**
     * Reads {@code path}. {@code tokenizer} may be null for token ids only; {@code template} is
     * asked for only when chat rows (or alpaca rows in the chat style) are read.
     */
    public static LoadedDataset read(Path path, FormatOptions options, Tokenizer tokenizer, Supplier<ChatTemplate> template) {
        boolean text = TextFilesReader.isText(path);
        if (tokenizer == null && (text || options.format() != DataFormat.TOKENS)) {
            if (options.format() == null && !text && JsonlReader.detect(path) == DataFormat.TOKENS) {
                return JsonlReader.read(path, options, null);
            }
            throw new InvalidInputException(path + ": text data needs the model's tokenizer (tokenizer.json in the model folder)");
        }
        Encoders encoders = new Encoders(tokenizer, options, template);
        return text ? TextFilesReader.read(path, options, encoders) : JsonlReader.read(path, options, encoders);
    }

    /** Reads {@code path} with the chat template of the tokenizer's folder (chat_template.jinja, else tokenizer_config.json). */
    public static LoadedDataset read(Path path, FormatOptions options, Tokenizer tokenizer, Path tokenizerFolder) {
        return read(path, options, tokenizer, () -> ChatTemplate.of(tokenizer, tokenizerFolder));
    }
}
