package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.core.InvalidInputException;
import org.cce4j.tokenizer.Encoding;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.Overflow;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.RowReport;
import org.cce4j.trainer.data.TokenRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.cce4j.trainer.data.formats.ByteTokenizer.ASSISTANT;
import static org.cce4j.trainer.data.formats.ByteTokenizer.BOS;
import static org.cce4j.trainer.data.formats.ByteTokenizer.END;
import static org.cce4j.trainer.data.formats.ByteTokenizer.EOS;
import static org.cce4j.trainer.data.formats.ByteTokenizer.SPACE_Y;
import static org.cce4j.trainer.data.formats.ByteTokenizer.USER;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The text formats with a byte-level tokenizer built here ({@link ByteTokenizer}: id b is byte b),
 * so that every expected row is written out by hand: detection, each format's ids and labels
 * (TRL's prompt/completion masking, boundary merges included; chat spans from generation blocks and
 * from prefixes; alpaca), plain .txt files, overflow, and each kind of bad row with its exact
 * {@code file:line: what} and its count under skip_bad_rows.
 */
class FormatsTest {
    private static final int M = -100;
    private static final Tokenizer TOKENIZER = ByteTokenizer.build(ByteTokenizer.TEMPLATE);

    @TempDir
    Path dir;

    private static FormatOptions options(int seqLen, Overflow overflow, boolean skip) {
        return FormatOptions.defaults(new RowOptions(TOKENIZER.vocabSize(), seqLen, overflow, skip));
    }

    private static final FormatOptions STRICT = options(512, Overflow.ERROR, false);
    private static final FormatOptions SKIP = options(512, Overflow.ERROR, true);

    private Path write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private LoadedDataset read(Path p, FormatOptions o) {
        return DatasetReader.read(p, o, TOKENIZER, () -> ChatTemplate.of(TOKENIZER));
    }

    private LoadedDataset read(Path p, FormatOptions o, String template) {
        return DatasetReader.read(p, o, TOKENIZER, () -> new ChatTemplate(template, Map.of("bos_token", "<s>", "eos_token", "</s>")));
    }

    /** Ids from ints and strings (a string is its bytes). */
    private static int[] ids(Object... parts) {
        int[] out = new int[0];
        for (Object p : parts) {
            int[] more = p instanceof String s ? ByteTokenizer.bytes(s) : new int[] {(Integer) p};
            int[] next = Arrays.copyOf(out, out.length + more.length);
            System.arraycopy(more, 0, next, out.length, more.length);
            out = next;
        }
        return out;
    }

    private static int[] masked(int n) {
        int[] out = new int[n];
        Arrays.fill(out, M);
        return out;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void theFormatIsToldByTheFirstRowsFieldsInAFixedOrder() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertEquals(DataFormat.TOKENS, DataFormat.of(json.readTree("{\"text\": \"a\", \"input_ids\": [1]}")));
        assertEquals(DataFormat.CHAT, DataFormat.of(json.readTree("{\"messages\": [], \"text\": \"a\"}")));
        assertEquals(DataFormat.PROMPT_COMPLETION, DataFormat.of(json.readTree("{\"prompt\": \"a\", \"completion\": \"b\", \"text\": \"c\"}")));
        assertEquals(DataFormat.ALPACA, DataFormat.of(json.readTree("{\"instruction\": \"a\", \"output\": \"b\", \"text\": \"c\"}")));
        assertEquals(DataFormat.TEXT, DataFormat.of(json.readTree("{\"text\": \"a\", \"prompt\": \"p\"}")));
        assertNull(DataFormat.of(json.readTree("{\"prompt\": \"a\"}")));
        assertNull(DataFormat.parse("auto"));
        assertEquals(DataFormat.PROMPT_COMPLETION, DataFormat.parse("prompt_completion"));
        assertEquals("data.format must be auto, text, tokens, prompt_completion, chat or alpaca, got 'csv'",
                assertThrows(InvalidInputException.class, () -> DataFormat.parse("csv")).getMessage());

        // the first line that is a JSON object decides; a bad line before it is reported by the read itself
        Path f = write("d.jsonl", "not json\n{\"question\": \"a\", \"answer\": \"b\"}\n");
        assertEquals(f + ":2: cannot tell the data format from the fields [question, answer] (input_ids = tokens, messages = chat,"
                + " prompt + completion = prompt_completion, instruction + output = alpaca, text = text); set data.format",
                assertThrows(InvalidInputException.class, () -> read(f, STRICT)).getMessage());
        Path tokens = write("t.jsonl", "{\"input_ids\": [1, 2, 3]}\n");
        LoadedDataset t = DatasetReader.read(tokens, STRICT, null, () -> null);
        assertEquals(DataFormat.TOKENS, t.report().format());
        assertArrayEquals(new int[] {1, 2, 3}, t.rows().row(0).inputIds());
        Path text = write("x.jsonl", "{\"text\": \"a\"}\n");
        assertEquals(text + ": text data needs the model's tokenizer (tokenizer.json in the model folder)",
                assertThrows(InvalidInputException.class, () -> DatasetReader.read(text, STRICT, null, () -> null)).getMessage());
    }

    @Test
    void textRowsAreBosTextEosAllTrainedOn() throws Exception {
        Path f = write("text.jsonl", "{\"text\": \"ab\"}\n{\"text\": \"c</s>\", \"id\": 7}\n");
        LoadedDataset d = read(f, STRICT);
        assertEquals(DataFormat.TEXT, d.report().format());
        assertTrue(d.report().detected());
        TokenRow r = d.rows().row(0);
        assertArrayEquals(ids(BOS, "ab", EOS), r.inputIds());
        assertSame(r.inputIds(), r.labels());
        assertArrayEquals(ids(BOS, "c", EOS), d.rows().row(1).inputIds()); // an EOS already there is not doubled
        assertArrayEquals(ids(BOS, "ab"), read(f, new FormatOptions(null, STRICT.rows(), TextSplit.FILE, TrainOn.ASSISTANT, AlpacaStyle.PROMPT, false))
                .rows().row(0).inputIds());
    }

    @Test
    void promptCompletionMasksTheFirstPromptLengthTokensAsTrlDoes() throws Exception {
        Path f = write("pc.jsonl", """
                {"prompt": "Q:", "completion": " a"}
                {"prompt": "Answer: ", "completion": "yes"}
                """);
        LoadedDataset d = read(f, STRICT);
        assertEquals(DataFormat.PROMPT_COMPLETION, d.report().format());
        assertArrayEquals(ids(BOS, "Q: a", EOS), d.rows().row(0).inputIds());
        assertArrayEquals(concat(masked(3), ids(" a", EOS)), d.rows().row(0).labels());
        // "Answer: " alone ends with the token " "; in "Answer: yes" the space merges with "y": the prompt's 9 tokens
        // are not a prefix of the row's 12, and TRL masks the first 9 all the same, so " y" is not trained on
        assertArrayEquals(ids(BOS, "Answer:", SPACE_Y, "es", EOS), d.rows().row(1).inputIds());
        assertArrayEquals(concat(masked(9), ids("es", EOS)), d.rows().row(1).labels());
        assertEquals(1, d.report().boundaryMerged());
        assertTrue(d.report().summary().endsWith("; format prompt_completion (detected); 1 rows whose prompt tokens merge with the completion's"
                + " (the first prompt-length tokens are masked, as TRL does)"), d.report().summary());
    }

    @Test
    void chatLabelsTheAssistantTurnsWithTheirEndOfTurnFromGenerationBlocksOrFromPrefixes() throws Exception {
        Path f = write("chat.jsonl", """
                {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "x"}, {"role": "assistant", "content": "ok"}]}
                """);
        int[] expectedIds = ids(BOS, USER, "hi", END, ASSISTANT, "yo", END, USER, "x", END, ASSISTANT, "ok", END);
        int[] assistant = concat(concat(masked(6), ids("yo", END)), concat(masked(4), ids("ok", END)));
        int[] last = concat(masked(13), ids("ok", END));
        for (String template : List.of(ByteTokenizer.TEMPLATE, ByteTokenizer.TAGGED)) {
            LoadedDataset d = read(f, STRICT, template);
            assertArrayEquals(expectedIds, d.rows().row(0).inputIds());
            assertArrayEquals(assistant, d.rows().row(0).labels(), template);
            assertEquals(template.equals(ByteTokenizer.TAGGED) ? "the template's generation blocks" : "renderings of each conversation's prefixes",
                    d.report().spanSource());
            assertArrayEquals(last, read(f, STRICT.withTrainOn(TrainOn.LAST_ASSISTANT), template).rows().row(0).labels());
            TokenRow all = read(f, STRICT.withTrainOn(TrainOn.ALL), template).rows().row(0);
            assertSame(all.inputIds(), all.labels());
        }
    }

    @Test
    void aTokenThatStraddlesASpanEdgeIsTrainedOnAndEmptySpansNever() {
        // tokens [0,3) [3,5) [5,8) [0,0) [8,9); span [4,6): tokens 1 and 2 hold part of it; the post-processor's token and [8,8) never
        Encoding e = new Encoding(new int[] {10, 11, 12, 13, 14}, new int[] {0, 3, 5, 0, 8}, new int[] {3, 5, 8, 0, 9});
        assertArrayEquals(new int[] {M, 11, 12, M, M}, SpanLabels.labels(e, List.of(new ChatTemplate.Span(1, 4, 6), new ChatTemplate.Span(3, 8, 8))));
        assertArrayEquals(new int[] {M, M, 12, M, 14}, SpanLabels.labels(e, List.of(new ChatTemplate.Span(1, 5, 6), new ChatTemplate.Span(3, 8, 9))));
    }

    @Test
    void alpacaRowsUseStanfordAlpacasPromptOrTheChatTemplate() throws Exception {
        Path f = write("alpaca.jsonl", """
                {"instruction": "Add.", "input": "1 2", "output": "3"}
                {"instruction": "Greet.", "input": "", "output": "Hi"}
                """);
        LoadedDataset d = read(f, STRICT);
        assertEquals(DataFormat.ALPACA, d.report().format());
        String withInput = "Below is an instruction that describes a task, paired with an input that provides further context. Write a response"
                + " that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:";
        String without = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                + "### Instruction:\nGreet.\n\n### Response:";
        assertEquals(withInput, AlpacaPrompt.prompt("Add.", "1 2"));
        assertEquals(without, AlpacaPrompt.prompt("Greet.", ""));
        int[] promptIds = ids(BOS, withInput);
        assertArrayEquals(concat(promptIds, ids("3", EOS)), d.rows().row(0).inputIds());
        assertArrayEquals(concat(masked(promptIds.length), ids("3", EOS)), d.rows().row(0).labels());
        LoadedDataset chat = read(f, STRICT.withAlpacaStyle(AlpacaStyle.CHAT));
        assertArrayEquals(ids(BOS, USER, "Add.\n\n1 2", END, ASSISTANT, "3", END), chat.rows().row(0).inputIds());
        assertArrayEquals(ids(BOS, USER, "Greet.", END, ASSISTANT, "Hi", END), chat.rows().row(1).inputIds());
        assertArrayEquals(concat(masked(10), ids("Hi", END)), chat.rows().row(1).labels());
    }

    @Test
    void eachBadRowIsNamedByFileAndLineOrSkippedAndCounted() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("""
                {"prompt": "p", "completion": " c"}
                {"prompt": "p", "completion": " c"
                {"prompt": "p"}
                {"prompt": 1, "completion": " c"}
                {"prompt": "p", "completion": "  "}
                [1, 2]
                {"prompt": "\\ud800", "completion": " c"}

                """.getBytes(StandardCharsets.UTF_8));
        bytes.write(0xFF);
        bytes.writeBytes("\n{\"prompt\": \"p\", \"completion\": \" c\"}\n".getBytes(StandardCharsets.UTF_8));
        Path f = dir.resolve("bad.jsonl");
        Files.write(f, bytes.toByteArray());
        String second = assertThrows(InvalidInputException.class, () -> read(f, STRICT)).getMessage();
        assertTrue(second.startsWith(f + ":2: invalid JSON at column "), second);
        RowReport r = read(f, SKIP).report().rows();
        assertEquals(2, r.rows());
        assertEquals(10, r.lines());
        assertEquals(Map.of(
                BadRow.NOT_UTF8, new RowReport.Skipped(1, f + ":9: not UTF-8 text"),
                BadRow.BLANK_LINE, new RowReport.Skipped(1, f + ":8: blank line (a JSONL file has one JSON object on every line)"),
                BadRow.INVALID_JSON, new RowReport.Skipped(1, second),
                BadRow.NOT_AN_OBJECT, new RowReport.Skipped(1, f + ":6: expected a JSON object (format prompt_completion), got an array"),
                BadRow.MISSING_FIELD, new RowReport.Skipped(1, f + ":3: no \"completion\""),
                BadRow.INVALID_FIELD, new RowReport.Skipped(1, f + ":4: \"prompt\" must be a string, got 1"),
                BadRow.EMPTY_COMPLETION, new RowReport.Skipped(1, f + ":5: the completion is empty (only whitespace)"),
                BadRow.INVALID_TEXT, new RowReport.Skipped(1, f + ":7: \"prompt\" is not Unicode text: a lone surrogate \\ud800 at character 0")),
                r.skipped());
    }

    @Test
    void chatRowsTheTemplateRefusesOrThatTrainNothingAreBadRows() throws Exception {
        Path f = write("chat.jsonl", """
                {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
                {"messages": [{"role": "tool", "content": "a"}, {"role": "assistant", "content": "b"}]}
                {"messages": [{"role": "user", "content": "a"}]}
                {"messages": {"role": "user"}}
                {"messages": [{"role": "user"}]}
                {"messages": []}
                """);
        assertEquals(f + ":2: chat template raised: unknown role tool", assertThrows(InvalidInputException.class, () -> read(f, STRICT)).getMessage());
        RowReport r = read(f, SKIP).report().rows();
        assertEquals(1, r.rows());
        assertEquals(Map.of(
                BadRow.MISSING_FIELD, new RowReport.Skipped(1, f + ":5: messages[0] has no \"content\""),
                BadRow.INVALID_FIELD, new RowReport.Skipped(2, f + ":4: \"messages\" must be a list of {\"role\", \"content\"} objects, got an object"),
                BadRow.TEMPLATE_ERROR, new RowReport.Skipped(1, f + ":2: chat template raised: unknown role tool"),
                BadRow.NO_TARGETS, new RowReport.Skipped(1, f + ":3: no assistant turn to train on (data.train_on = assistant)")), r.skipped());
        Tokenizer noTemplate = ByteTokenizer.build(null);
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> DatasetReader.read(f, STRICT, noTemplate, () -> ChatTemplate.of(noTemplate)));
        assertEquals("chat rows need a chat template: no chat_template in tokenizer_config.json (set data.chat_template to a .jinja file)", e.getMessage());
    }

    @Test
    void idsPastTheModelsVocabularyAreBadRows() throws Exception {
        Path f = write("v.jsonl", "{\"text\": \"a\"}\n");
        FormatOptions small = FormatOptions.defaults(new RowOptions(258, 64, Overflow.ERROR, false));
        assertEquals(f + ":1: token 2 of the tokenized row is id 258, outside the model's vocabulary [0, 258)",
                assertThrows(InvalidInputException.class, () -> read(f, small)).getMessage());
    }

    @Test
    void longRowsAreTruncatedSplitOrRefused() throws Exception {
        Path f = write("long.jsonl", "{\"text\": \"abcdefgh\"}\n");  // 10 tokens: <s> a..h </s>
        int[] all = ids(BOS, "abcdefgh", EOS);
        LoadedDataset t = read(f, options(4, Overflow.TRUNCATE, false));
        assertArrayEquals(Arrays.copyOf(all, 4), t.rows().row(0).inputIds());
        assertEquals(1, t.report().rows().truncated());
        LoadedDataset s = read(f, options(4, Overflow.SPLIT, false));
        assertEquals(3, s.rows().size());
        assertArrayEquals(Arrays.copyOfRange(all, 6, 10), s.rows().row(2).inputIds());
        assertEquals(9, s.report().rows().targets());
        assertEquals(f + ":1: the row has 10 tokens, more than seq_len 4 (data.overflow = error)",
                assertThrows(InvalidInputException.class, () -> read(f, options(4, Overflow.ERROR, false))).getMessage());
    }

    @Test
    void textFilesAreDocumentsByFileOrByBlankLines() throws Exception {
        Path folder = dir.resolve("books");
        write("books/b.txt", "third\n");
        write("books/a.txt", "\uFEFFfirst line\r\nstill first\n\n \n\nsecond\n");
        write("books/skip.md", "not text");
        LoadedDataset byFile = read(folder, STRICT);
        assertEquals(DataFormat.TEXT, byFile.report().format());
        assertEquals(2, byFile.rows().size());
        assertArrayEquals(ids(BOS, "first line\r\nstill first\n\n \n\nsecond\n", EOS), byFile.rows().row(0).inputIds());
        assertArrayEquals(ids(BOS, "third\n", EOS), byFile.rows().row(1).inputIds());
        LoadedDataset byParagraph = read(folder, STRICT.withTextSplit(TextSplit.BLANK_LINES));
        assertEquals(3, byParagraph.rows().size());
        assertArrayEquals(ids(BOS, "first line\nstill first", EOS), byParagraph.rows().row(0).inputIds());
        assertArrayEquals(ids(BOS, "second", EOS), byParagraph.rows().row(1).inputIds());
        assertEquals(3, byParagraph.report().rows().lines());

        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'o', 'k', '\n', 'x', (byte) 0xC3, '\n'});
        assertEquals(bad + ":2: not UTF-8 text", assertThrows(InvalidInputException.class, () -> read(bad, STRICT)).getMessage());
        Path empty = write("empty.txt", " \n");
        assertEquals(empty + ":1: the text is empty (only whitespace)", assertThrows(InvalidInputException.class, () -> read(empty, STRICT)).getMessage());
        assertEquals(empty + ": plain text (a .txt file or a folder of them) is read as data.format = text, not chat",
                assertThrows(InvalidInputException.class, () -> read(empty, STRICT.withFormat(DataFormat.CHAT))).getMessage());
        Path none = Files.createDirectories(dir.resolve("none"));
        assertEquals(none + ": a folder without .txt files", assertThrows(InvalidInputException.class, () -> read(none, STRICT)).getMessage());
        assertFalse(TextFilesReader.isText(dir.resolve("rows.jsonl")));
    }

    @Test
    void optionWordsParseAsTheConfigWritesThem() {
        assertEquals(TrainOn.LAST_ASSISTANT, TrainOn.parse("last_assistant"));
        assertEquals(TextSplit.BLANK_LINES, TextSplit.parse("blank_lines"));
        assertEquals(AlpacaStyle.CHAT, AlpacaStyle.parse("chat"));
        assertEquals("data.train_on must be assistant, last_assistant or all, got 'user'",
                assertThrows(InvalidInputException.class, () -> TrainOn.parse("user")).getMessage());
    }
}
