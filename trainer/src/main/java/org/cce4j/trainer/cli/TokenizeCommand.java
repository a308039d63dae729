package org.cce4j.trainer.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code tokenize}: one JSON string per input line → one JSON array of ids per output line, with
 * the ids the Hugging Face tokenizers library gives for that tokenizer.json. Lines are encoded in
 * batches across all cores; the output is written atomically.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Encode text with a Hugging Face tokenizer.json: one JSON string per input line, one JSON array of ids per output line.")
public final class TokenizeCommand implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int BATCH = 4096;

    @Option(names = "--tokenizer", required = true, description = "tokenizer.json, or a folder holding it")
    Path tokenizer;

    @Option(names = "--input", required = true, description = "JSONL file: one JSON string per line")
    Path input;

    @Option(names = "--output", required = true, description = "JSONL file to write: one JSON array of ids per line")
    Path output;

    @Option(names = "--add-special-tokens", description = "add the tokenizer's special tokens (e.g. <bos>) as its post-processor says (default: off)")
    boolean addSpecialTokens;

    @Option(names = "--threads", description = "threads to encode with (default: all cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--verbose", description = "print stack traces of errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        Tokenizer tok = Tokenizer.load(tokenizer);
        try (BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            writeAtomically(output, out -> {
                List<String> batch = new ArrayList<>(BATCH);
                int firstLine = 1;
                int lineNo = 0;
                String line;
                while ((line = in.readLine()) != null) {
                    lineNo++;
                    batch.add(parseString(line, lineNo));
                    if (batch.size() == BATCH) {
                        writeBatch(tok, batch, firstLine, out);
                        firstLine = lineNo + 1;
                        batch.clear();
                    }
                }
                writeBatch(tok, batch, firstLine, out);
            });
        }
        return 0;
    }

    private void writeBatch(Tokenizer tok, List<String> batch, int firstLine, java.io.Writer out) throws java.io.IOException {
        if (batch.isEmpty()) return;
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
        }
    }

    interface Body {
        void write(java.io.Writer out) throws java.io.IOException;
    }

    /** Writes to a temporary name beside {@code output}, fsyncs, then renames: readers never see half a file. */
    static void writeAtomically(Path output, Body body) throws java.io.IOException {
        Path dir = output.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + output.getFileName() + ".", ".tmp");
        try {
            try (java.io.Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                body.write(w);
            }
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, output, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String parseString(String line, int lineNo) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new TokenizerException(input + " line " + lineNo + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (n == null || !n.isTextual()) throw new TokenizerException(input + " line " + lineNo + ": expected one JSON string");
        return n.asText();
    }
}
