package org.cce4j.trainer.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code detokenize}: one JSON array of ids per input line → one JSON string per output line, the
 * text the Hugging Face tokenizers library decodes. Special tokens are kept unless
 * {@code --skip-special-tokens}. An id outside the vocabulary is a user error naming the line. The
 * output is written atomically (standard output with {@code -}); a summary line goes to standard error.
 */
@Command(name = "detokenize", mixinStandardHelpOptions = true,
        description = "Decode ids with a Hugging Face tokenizer.json: one JSON array of ids per input line, one JSON string per output line.")
public final class DetokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true, description = "tokenizer.json, or a folder holding it")
    Path tokenizer;

    @Option(names = "--input", required = true, description = "JSONL file: one JSON array of ids per line")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE|-", description = "JSONL file to write, one JSON string per line; - for standard output")
    Path output;

    @Option(names = "--skip-special-tokens", description = "leave special tokens out of the text (default: keep them)")
    boolean skipSpecialTokens;

    @Option(names = "--verbose", description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        InputFiles.requireFile("--input", input);
        CommandOutput out = CommandOutput.text("--output", output)
                .notOneOf(Map.of("--input", input, "--tokenizer", Files.isDirectory(tokenizer) ? tokenizer.resolve("tokenizer.json") : tokenizer));
        Tokenizer tok = Tokenizer.load(tokenizer);
        long start = System.nanoTime();
        long[] rowsAndTokens = new long[2];
        try (BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            out.writeText(spec.commandLine().getOut(), w -> {
                int lineNo = 0;
                String line;
                while ((line = in.readLine()) != null) {
                    lineNo++;
                    int[] ids = parseIds(line, lineNo);
                    String text;
                    try {
                        text = tok.decode(ids, skipSpecialTokens);
                    } catch (TokenizerException e) {
                        throw new TokenizerException(input + " line " + lineNo + ": " + e.getMessage());
                    }
                    w.write(TokenizeCommand.JSON.writeValueAsString(text));
                    w.write('\n');
                    rowsAndTokens[1] += ids.length;
                }
                rowsAndTokens[0] = lineNo;
            });
        }
        Summary.print(spec.commandLine().getErr(), "detokenize", rowsAndTokens[0], rowsAndTokens[1], start, out);
        return 0;
    }

    private int[] parseIds(String line, int lineNo) {
        JsonNode n;
        try {
            n = TokenizeCommand.JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new TokenizerException(input + " line " + lineNo + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (n == null || !n.isArray()) throw new TokenizerException(input + " line " + lineNo + ": expected a JSON array of ids");
        int[] ids = new int[n.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = n.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                throw new TokenizerException(input + " line " + lineNo + ": element " + i + " (" + v + ") is not a valid token id");
            }
            ids[i] = v.asInt();
        }
        return ids;
    }
}
