package org.cce4j.trainer.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tokenize}: rows of text → one JSON array of ids per output line, the ids the Hugging Face
 * tokenizers library gives for that tokenizer.json. A row is a JSON line (a JSON string, or an object
 * with a string "text" field, as datasets write them) or, with --format text, a plain line. Rows are
 * encoded in batches across all cores; the output is written atomically (standard output with
 * {@code -}), and one summary line (rows, tokens, seconds) goes to standard error, which stays free
 * of the ids.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Encode text with a Hugging Face tokenizer.json: one row per input line, one JSON array of ids per output line.",
            "Rows (--format json): a JSON string, or an object with a string \"text\" field; (--format text): the line itself.",
            "Prints the rows, tokens and seconds on stderr."})
public final class TokenizeCommand implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int BATCH = 4096;

    /** How input lines hold their text. */
    enum Format { JSON, TEXT }

    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE|DIR", description = "tokenizer.json, or a folder holding it")
    Path tokenizer;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "the rows, one per line (see --format)")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE|-", description = "JSONL file to write, one JSON array of ids per line; - for standard output")
    Path output;

    @Option(names = "--format", defaultValue = "json", converter = FormatConverter.class, paramLabel = "json|text",
            description = "json: each line a JSON string or {\"text\": ...}; text: each line is the text (default: ${DEFAULT-VALUE})")
    Format format;

    @Option(names = "--add-special-tokens", description = "add the tokenizer's special tokens (e.g. <bos>) as its post-processor says (default: off)")
    boolean addSpecialTokens;

    @Option(names = "--threads", paramLabel = "N", converter = Converters.PositiveInt.class, description = "threads to encode with (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

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
                List<String> batch = new ArrayList<>(BATCH);
                int firstLine = 1;
                int lineNo = 0;
                String line;
                while ((line = readLine(in, lineNo + 1)) != null) {
                    lineNo++;
                    batch.add(format == Format.TEXT ? line : parseRow(line, lineNo));
                    if (batch.size() == BATCH) {
                        rowsAndTokens[1] += writeBatch(tok, batch, firstLine, w);
                        firstLine = lineNo + 1;
                        batch.clear();
                    }
                }
                rowsAndTokens[1] += writeBatch(tok, batch, firstLine, w);
                rowsAndTokens[0] = lineNo;
            });
        }
        Summary.print(spec.commandLine().getErr(), "tokenize", rowsAndTokens[0], rowsAndTokens[1], start, out);
        return 0;
    }

    /** A line of the input; bytes that are not UTF-8 are an error naming the line. */
    private String readLine(BufferedReader in, int lineNo) throws IOException {
        try {
            return in.readLine();
        } catch (CharacterCodingException e) {
            throw new TokenizerException(input + " line " + lineNo + ": not valid UTF-8");
        }
    }

    /** Encodes and writes one batch; returns its number of tokens. */
    private long writeBatch(Tokenizer tok, List<String> batch, int firstLine, Writer out) throws IOException {
        if (batch.isEmpty()) return 0;
        List<int[]> ids;
        try {
            ids = tok.encodeBatch(batch, addSpecialTokens, threads);
        } catch (TokenizerException e) {
            // name the line: encode again one by one to find it
            for (int i = 0; i < batch.size(); i++) {
                try {
                    tok.encode(batch.get(i), addSpecialTokens);
                } catch (TokenizerException line) {
                    throw new TokenizerException(input + " line " + (firstLine + i) + ": " + line.getMessage());
                }
            }
            throw e;
        }
        long tokens = 0;
        StringBuilder sb = new StringBuilder();
        for (int[] row : ids) {
            sb.setLength(0);
            sb.append('[');
            for (int k = 0; k < row.length; k++) {
                if (k > 0) sb.append(',');
                sb.append(row[k]);
            }
            sb.append("]\n");
            out.write(sb.toString());
            tokens += row.length;
        }
        return tokens;
    }

    /** A JSON row: a string, or an object whose "text" field is a string. */
    private String parseRow(String line, int lineNo) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new TokenizerException(input + " line " + lineNo + ": not valid JSON (" + e.getOriginalMessage() + "); plain text lines need --format text");
        }
        if (n != null && n.isTextual()) return n.asText();
        if (n != null && n.isObject() && n.get("text") != null && n.get("text").isTextual()) return n.get("text").asText();
        throw new TokenizerException(input + " line " + lineNo + ": expected a JSON string or an object with a string \"text\" field"
                + (n == null || n.isMissingNode() ? ", found an empty line" : ""));
    }

    static final class FormatConverter implements picocli.CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "json", "jsonl" -> Format.JSON;
                case "text", "txt" -> Format.TEXT;
                default -> throw new IllegalArgumentException("expected json or text, got '" + value + "'");
            };
        }
    }
}
