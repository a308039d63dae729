package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code tokenize} and {@code detokenize} commands: their files give what the tokenizer
 * library gives (itself compared with the Rust library in the tokenizer module's tests), the
 * options mean what docs/design.md says, and user errors exit 2 with one line.
 */
class TokenizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static Path llama3() {
        Path p = Path.of(System.getProperty("tokenizer.testData", "../.data/tokenizer"), "models", "llama3_1");
        Assumptions.assumeTrue(Files.isRegularFile(p.resolve("tokenizer.json")),
                "llama3_1 tokenizer not fetched (tools/fetch-test-data.sh); skipping");
        return p;
    }

    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(status, out.toString(), err.toString());
    }

    private Path write(String name, List<String> lines) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, lines, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void tokenizeAndDetokenizeGiveTheLibrarysIdsAndText() throws Exception {
        Path model = llama3();
        Tokenizer tok = Tokenizer.load(model);
        List<String> texts = List.of("Hello world!", "", "  spaces\tand\nnewlines\r\n", "emoji 👍🏽 中文",
                "<|begin_of_text|>special<|eot_id|>", "\"quotes\" and \\backslashes\\");
        List<String> lines = new ArrayList<>();
        for (String t : texts) lines.add(JSON.writeValueAsString(t));
        Path in = write("in.jsonl", lines);
        for (boolean special : new boolean[] {false, true}) {
            Path ids = dir.resolve("ids-" + special + ".jsonl");
            Result r = special ? run("tokenize", "--tokenizer", model.toString(), "--input", in.toString(), "--output", ids.toString(), "--add-special-tokens")
                    : run("tokenize", "--tokenizer", model.toString(), "--input", in.toString(), "--output", ids.toString());
            assertEquals(0, r.status(), r.err());
            List<String> got = Files.readAllLines(ids);
            assertEquals(texts.size(), got.size());
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(tok.encode(texts.get(i), special), JSON.readValue(got.get(i), int[].class), "line " + (i + 1));
            }
            for (boolean skip : new boolean[] {false, true}) {
                Path back = dir.resolve("text-" + special + skip + ".jsonl");
                Result d = skip ? run("detokenize", "--tokenizer", model.resolve("tokenizer.json").toString(), "--input", ids.toString(), "--output", back.toString(), "--skip-special-tokens")
                        : run("detokenize", "--tokenizer", model.resolve("tokenizer.json").toString(), "--input", ids.toString(), "--output", back.toString());
                assertEquals(0, d.status(), d.err());
                List<String> decoded = Files.readAllLines(back);
                for (int i = 0; i < texts.size(); i++) {
                    int[] row = JSON.readValue(got.get(i), int[].class);
                    assertEquals(tok.decode(row, skip), JSON.readValue(decoded.get(i), String.class), "line " + (i + 1));
                }
            }
        }
        // without the flag special tokens are not added; with it, <|begin_of_text|> comes first
        int bos = tok.bosId().orElseThrow();
        assertTrue(Arrays.stream(JSON.readValue(Files.readAllLines(dir.resolve("ids-true.jsonl")).get(0), int[].class)).findFirst().getAsInt() == bos);
        assertTrue(Arrays.stream(JSON.readValue(Files.readAllLines(dir.resolve("ids-false.jsonl")).get(0), int[].class)).noneMatch(i -> i == bos));
    }

    @Test
    void jsonRowsMayBeObjectsWithTextAndPlainLinesAreTextRows() throws Exception {
        Path model = llama3();
        Tokenizer tok = Tokenizer.load(model);
        List<String> texts = List.of("Hello world!", "", "emoji 👍🏽 中文", "\"quoted\" {braces}");
        List<String> jsonRows = List.of(JSON.writeValueAsString(texts.get(0)),
                "{\"text\": \"\", \"id\": 7}",
                JSON.writeValueAsString(java.util.Map.of("text", texts.get(2), "source", "x")),
                "{\"meta\": {\"text\": 1}, \"text\": " + JSON.writeValueAsString(texts.get(3)) + "}");
        Path json = write("rows.jsonl", jsonRows);
        Path text = write("rows.txt", texts);
        for (Path in : List.of(json, text)) {
            Path ids = dir.resolve(in.getFileName() + ".ids");
            Result r = run("tokenize", "--tokenizer", model.toString(), "--input", in.toString(), "--output", ids.toString(),
                    "--format", in == text ? "text" : "json");
            assertEquals(0, r.status(), r.err());
            List<String> got = Files.readAllLines(ids);
            assertEquals(texts.size(), got.size());
            long tokens = 0;
            for (int i = 0; i < texts.size(); i++) {
                int[] expected = tok.encode(texts.get(i), false);
                assertArrayEquals(expected, JSON.readValue(got.get(i), int[].class), in.getFileName() + " line " + (i + 1));
                tokens += expected.length;
            }
            // the report: rows and tokens, on stderr
            String report = r.err().strip();
            assertTrue(report.matches("tokenize: 4 rows, " + tokens + " tokens in \\d+\\.\\d\\d s -> " + java.util.regex.Pattern.quote(ids.toString())), report);
        }
        // a plain line given as JSON says what to do
        Result plain = run("tokenize", "--tokenizer", model.toString(), "--input", text.toString(), "--output", dir.resolve("x").toString());
        assertEquals(2, plain.status());
        assertTrue(plain.err().contains("line 1: not valid JSON") && plain.err().contains("--format text"), plain.err());
        Result noText = run("tokenize", "--tokenizer", model.toString(), "--input", write("o.jsonl", List.of("{\"txt\": \"a\"}")).toString(),
                "--output", dir.resolve("x").toString());
        assertEquals(2, noText.status());
        assertTrue(noText.err().contains("line 1: expected a JSON string or an object with a string \"text\" field"), noText.err());
    }

    @Test
    void badCountsAndFormatsAreRefusedWhenParsed() throws Exception {
        Path in = write("t.jsonl", List.of("\"x\""));
        String[][] cases = {{"--threads", "0"}, {"--threads", "-4"}, {"--format", "xml"}};
        String[] says = {"invalid value for --threads: must be positive, got 0", "invalid value for --threads: must be positive, got -4",
            "invalid value for --format: expected json or text, got 'xml'"};
        for (int i = 0; i < cases.length; i++) {
            Result r = run("tokenize", "--tokenizer", dir.resolve("never-loaded.json").toString(), "--input", in.toString(),
                    "--output", dir.resolve("o.jsonl").toString(), cases[i][0], cases[i][1]);
            assertEquals(2, r.status(), r.err());
            assertTrue(r.err().strip().startsWith("tokenize: error: " + says[i]), r.err());
        }
    }

    @Test
    void userErrorsExitTwoWithOneLine() throws Exception {
        Path model = llama3();
        Path out = dir.resolve("out.jsonl");
        List<Result> results = List.of(
                run("tokenize", "--tokenizer", dir.resolve("missing.json").toString(), "--input", write("a.jsonl", List.of("\"x\"")).toString(), "--output", out.toString()),
                run("tokenize", "--tokenizer", model.toString(), "--input", write("b.jsonl", List.of("\"ok\"", "not json")).toString(), "--output", out.toString()),
                run("tokenize", "--tokenizer", model.toString(), "--input", write("c.jsonl", List.of("[1, 2]")).toString(), "--output", out.toString()),
                run("tokenize", "--tokenizer", model.toString(), "--input", write("d.jsonl", List.of("\"lone \\ud800 surrogate\"")).toString(), "--output", out.toString()),
                run("detokenize", "--tokenizer", model.toString(), "--input", write("e.jsonl", List.of("[1, 2]", "[99999999]")).toString(), "--output", out.toString()),
                run("detokenize", "--tokenizer", model.toString(), "--input", write("f.jsonl", List.of("[-1]")).toString(), "--output", out.toString()),
                run("detokenize", "--tokenizer", model.toString(), "--input", write("g.jsonl", List.of("\"text\"")).toString(), "--output", out.toString()),
                run("tokenize", "--tokenizer", write("bad.json", List.of("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}")).toString(),
                        "--input", write("h.jsonl", List.of("\"x\"")).toString(), "--output", out.toString()),
                run("tokenize", "--tokenizer", write("broken.json", List.of("{\"model\": ")).toString(),
                        "--input", write("i.jsonl", List.of("\"x\"")).toString(), "--output", out.toString()));
        String[] mustMention = {"missing.json", "line 2", "line 1", "surrogate", "line 2", "line 1", "line 1", "Unigram", "malformed JSON"};
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            assertEquals(2, r.status(), "case " + i + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), "case " + i + " prints one line: " + r.err());
            assertTrue(r.err().contains(mustMention[i]), "case " + i + " names the problem: " + r.err());
        }
        assertTrue(Files.notExists(out), "no output is left behind after an error");
    }
}
