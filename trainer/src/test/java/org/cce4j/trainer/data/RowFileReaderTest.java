package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Reading a rows file: what a good row becomes, one exact {@code file:line: what} message for each
 * kind of bad line (line 2 of a file whose lines 1 and 3 are good), their counting with skip_bad_rows,
 * truncation to seq_len and overflow = error.
 */
class RowFileReaderTest {
    private static final int VOCAB = 100;
    private static final String GOOD = "{\"input_ids\": [1, 2, 3]}";

    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private Path write(String name, String text) throws Exception {
        return write(name, text.getBytes(StandardCharsets.UTF_8));
    }

    private static RowOptions options(int seqLen, Overflow overflow, boolean skip) {
        return new RowOptions(VOCAB, seqLen, overflow, skip);
    }

    private static final RowOptions STRICT = options(8, Overflow.TRUNCATE, false);

    @Test
    void rowsKeepTheirIdsAndLabelsAndDefaultLabelsAreTheIds() throws Exception {
        Path f = write("rows.jsonl", """
                {"input_ids": [1, 2, 3]}
                {"text": "ignored", "input_ids": [4, 5, 6, 7], "labels": [-100, -100, 6, 7], "extra": {"a": [1.5, null]}}
                {"labels": null, "input_ids": [9, 8]}
                {"input_ids": [0, 99], "labels": [0, 99]}
                """);
        RowFileReader.LoadedRows read = RowFileReader.read(f, STRICT);
        TokenRows rows = read.rows();
        assertEquals(4, rows.size());
        assertArrayEquals(new int[] {1, 2, 3}, rows.row(0).inputIds());
        assertSame(rows.row(0).inputIds(), rows.row(0).labels()); // no labels of its own: stored once
        assertEquals(2, rows.row(0).targets());
        assertArrayEquals(new int[] {4, 5, 6, 7}, rows.row(1).inputIds());
        assertArrayEquals(new int[] {-100, -100, 6, 7}, rows.row(1).labels());
        assertEquals(2, rows.row(1).targets());
        assertArrayEquals(new int[] {9, 8}, rows.row(2).labels());
        assertEquals(1, rows.row(2).targets());
        assertSame(rows.row(3).inputIds(), rows.row(3).labels()); // labels equal to the ids: stored once
        RowReport r = read.report();
        assertEquals(4, r.lines());
        assertEquals(4, r.rows());
        assertEquals(11, r.tokens());
        assertEquals(6, r.targets());
        assertEquals(0, r.truncated());
        assertEquals(Map.of(), r.skipped());
        assertEquals(f + ": 4 rows, 11 tokens, 6 targets", r.summary());
    }

    @Test
    void lineEndingsAByteOrderMarkAndAMissingFinalNewlineAreAccepted() throws Exception {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        byte[] body = (GOOD + "\r\n{\"input_ids\": [5, 6]}").getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(bom);
        all.write(body);
        TokenRows rows = RowFileReader.read(write("crlf.jsonl", all.toByteArray()), STRICT).rows();
        assertEquals(2, rows.size());
        assertArrayEquals(new int[] {5, 6}, rows.row(1).inputIds());
    }

    @Test
    void unicodeInIgnoredFieldsIsRead() throws Exception {
        Path f = write("text.jsonl", "{\"text\": \"naïve 中文 👍🏽\", \"input_ids\": [3, 4]}\n");
        assertEquals(1, RowFileReader.read(f, STRICT).rows().size());
    }

    /** A bad line 2, and the message it must give. */
    static Stream<Arguments> badLines() {
        return Stream.of(
                Arguments.of(BadRow.BLANK_LINE, "", "blank line (a rows file has one JSON object on every line)"),
                Arguments.of(BadRow.BLANK_LINE, "  \t ", "blank line (a rows file has one JSON object on every line)"),
                Arguments.of(BadRow.INVALID_JSON, "{\"input_ids\": [1, 2", "invalid JSON at column 20: "),
                Arguments.of(BadRow.INVALID_JSON, "{\"input_ids\": [1, 2]} {\"input_ids\": [3]}", "invalid JSON: more than one value on the line"),
                Arguments.of(BadRow.INVALID_JSON, "{\"input_ids\": [1, 2], \"input_ids\": [3, 4]}", "invalid JSON at column 34: Duplicate field 'input_ids'"),
                Arguments.of(BadRow.INVALID_JSON, "{\"input_ids\": [500, 2], \"x\": tru}", "invalid JSON at column 33: "), // syntax first, whatever precedes
                Arguments.of(BadRow.INVALID_JSON, "[1, 2, 3", "invalid JSON at column 9: "), // not an object either, but broken first
                Arguments.of(BadRow.NOT_AN_OBJECT, "[1, 2, 3]", "expected a JSON object {\"input_ids\": [...], \"labels\": [...]}, got an array"),
                Arguments.of(BadRow.NOT_AN_OBJECT, "17", "expected a JSON object {\"input_ids\": [...], \"labels\": [...]}, got 17"),
                Arguments.of(BadRow.MISSING_INPUT_IDS, "{\"labels\": [1, 2]}", "no input_ids"),
                Arguments.of(BadRow.MISSING_INPUT_IDS, "{\"input_ids\": null}", "no input_ids"),
                Arguments.of(BadRow.MISSING_INPUT_IDS, "{\"input_ids\": \"1 2 3\"}", "input_ids must be an array of token ids, got \"1 2 3\""),
                Arguments.of(BadRow.EMPTY_INPUT_IDS, "{\"input_ids\": []}", "input_ids is empty"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, 100]}", "input_ids[1] = 100 is outside the vocabulary [0, 100)"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, -100]}", "input_ids[1] = -100 is outside the vocabulary [0, 100)"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, 2.0]}", "input_ids[1] is not an integer: 2.0"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, \"2\"]}", "input_ids[1] is not an integer: \"2\""),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, true]}", "input_ids[1] is not an integer: true"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, [2]]}", "input_ids[1] is not an integer: an array"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, 99999999999]}", "input_ids[1] = 99999999999 is outside the vocabulary [0, 100)"),
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"input_ids\": [1, 200, \"x\"]}", "input_ids[1] = 200 is outside the vocabulary [0, 100)"), // the first bad one
                Arguments.of(BadRow.INVALID_INPUT_ID, "{\"labels\": [1, -5], \"input_ids\": [1, 200]}", "input_ids[1] = 200 is outside the vocabulary [0, 100)"), // ids before labels
                Arguments.of(BadRow.LABELS_LENGTH, "{\"input_ids\": [1, 2, 3], \"labels\": [1, 2]}", "labels has 2 entries, input_ids 3"),
                Arguments.of(BadRow.LABELS_LENGTH, "{\"input_ids\": [1, 2, 3], \"labels\": 3}", "labels must be an array as long as input_ids (or absent), got 3"),
                Arguments.of(BadRow.INVALID_LABEL, "{\"input_ids\": [1, 2, 3], \"labels\": [1, -1, 3]}", "labels[1] = -1 is neither -100 nor in [0, 100)"),
                Arguments.of(BadRow.INVALID_LABEL, "{\"input_ids\": [1, 2, 3], \"labels\": [1, 2, 100]}", "labels[2] = 100 is neither -100 nor in [0, 100)"),
                Arguments.of(BadRow.INVALID_LABEL, "{\"input_ids\": [1, 2, 3], \"labels\": [1, null, 3]}", "labels[1] is not an integer: null"),
                Arguments.of(BadRow.NO_TARGETS, "{\"input_ids\": [1, 2, 3], \"labels\": [1, -100, -100]}", "no trained target: every label after the first is -100"),
                Arguments.of(BadRow.NO_TARGETS, "{\"input_ids\": [7]}", "a row of one token has no target (token t is trained to predict labels[t+1])"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("badLines")
    void aBadLineIsNamedByFileAndLine(BadRow kind, String line, String message) throws Exception {
        Path f = write("bad.jsonl", GOOD + "\n" + line + "\n" + GOOD + "\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> RowFileReader.read(f, STRICT));
        String prefix = f + ":2: " + message;
        if (message.endsWith(": ")) { // Jackson's own words follow: check the start, and that it is one line
            assertEquals(prefix, e.getMessage().substring(0, Math.min(e.getMessage().length(), prefix.length())), e.getMessage());
            assertEquals(-1, e.getMessage().indexOf('\n'), "one line: " + e.getMessage());
        } else {
            assertEquals(prefix, e.getMessage());
        }

        // with skip_bad_rows the same line is skipped and counted under its kind
        RowFileReader.LoadedRows read = RowFileReader.read(f, options(8, Overflow.TRUNCATE, true));
        assertEquals(2, read.rows().size());
        assertEquals(3, read.report().lines());
        assertEquals(Map.of(kind, new RowReport.Skipped(1, e.getMessage())), read.report().skipped());
    }

    @Test
    void bytesThatAreNotUtf8AreNamedAtTheirLine() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write((GOOD + "\n" + GOOD + "\n").getBytes(StandardCharsets.UTF_8));
        b.write(new byte[] {'{', '"', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}', '\n'}); // 0xC3 0x28: a broken 2-byte character
        b.write((GOOD + "\n").getBytes(StandardCharsets.UTF_8));
        Path f = write("latin.jsonl", b.toByteArray());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> RowFileReader.read(f, STRICT));
        assertEquals(f + ":3: not UTF-8 text", e.getMessage());
        RowReport r = RowFileReader.read(f, options(8, Overflow.TRUNCATE, true)).report();
        assertEquals(Map.of(BadRow.NOT_UTF8, new RowReport.Skipped(1, f + ":3: not UTF-8 text")), r.skipped());
    }

    @Test
    void skippedLinesAreCountedByKindWithTheFirstOfEach() throws Exception {
        Path f = write("mixed.jsonl", String.join("\n",
                GOOD,                                      // 1
                "",                                        // 2 blank
                "{\"input_ids\": [1, 500]}",               // 3 invalid id
                GOOD,                                      // 4
                "",                                        // 5 blank
                "{\"input_ids\": [1, 2], \"labels\": [1, -100]}", // 6 no targets
                "{\"input_ids\": [1, 600]}",               // 7 invalid id
                "") + "\n");                               // 8 blank (the final newline ends it)
        RowFileReader.LoadedRows read = RowFileReader.read(f, options(8, Overflow.TRUNCATE, true));
        assertEquals(2, read.rows().size());
        RowReport r = read.report();
        assertEquals(8, r.lines());
        assertEquals(6, r.skippedTotal());
        assertEquals(Map.of(
                BadRow.BLANK_LINE, new RowReport.Skipped(3, f + ":2: blank line (a rows file has one JSON object on every line)"),
                BadRow.INVALID_INPUT_ID, new RowReport.Skipped(2, f + ":3: input_ids[1] = 500 is outside the vocabulary [0, 100)"),
                BadRow.NO_TARGETS, new RowReport.Skipped(1, f + ":6: no trained target: every label after the first is -100")), r.skipped());
        assertEquals(f + ": 2 rows, 6 tokens, 4 targets; 6 skipped (blank_line 3, invalid_input_id 2, no_targets 1)", r.summary());
    }

    @Test
    void longRowsAreTruncatedToSeqLenAndCounted() throws Exception {
        Path f = write("long.jsonl", """
                {"input_ids": [1, 2, 3, 4, 5, 6]}
                {"input_ids": [1, 2, 3, 4, 5, 6], "labels": [-100, -100, -100, 4, 5, 6]}
                {"input_ids": [1, 2, 3, 4]}
                """);
        RowFileReader.LoadedRows read = RowFileReader.read(f, options(4, Overflow.TRUNCATE, false));
        TokenRows rows = read.rows();
        assertArrayEquals(new int[] {1, 2, 3, 4}, rows.row(0).inputIds());
        assertSame(rows.row(0).inputIds(), rows.row(0).labels());
        assertEquals(3, rows.row(0).targets());
        assertArrayEquals(new int[] {1, 2, 3, 4}, rows.row(1).inputIds());
        assertArrayEquals(new int[] {-100, -100, -100, 4}, rows.row(1).labels());
        assertEquals(1, rows.row(1).targets());
        assertEquals(2, read.report().truncated()); // a row of exactly seq_len is not truncated
        assertEquals(12, read.report().tokens());
    }

    @Test
    void aRowWhoseTargetsAreAllCutOffHasNoTargets() throws Exception {
        Path f = write("cut.jsonl", "{\"input_ids\": [1, 2, 3, 4, 5], \"labels\": [-100, -100, -100, -100, 5]}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> RowFileReader.read(f, options(4, Overflow.TRUNCATE, false)));
        assertEquals(f + ":1: no trained target in the first 4 tokens (seq_len): every label after the first is -100", e.getMessage());
    }

    @Test
    void withOverflowErrorALongRowIsRefusedOrSkipped() throws Exception {
        Path f = write("long.jsonl", GOOD + "\n{\"input_ids\": [1, 2, 3, 4, 5]}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> RowFileReader.read(f, options(4, Overflow.ERROR, false)));
        assertEquals(f + ":2: the row has 5 tokens, more than seq_len 4 (data.overflow = error)", e.getMessage());
        RowReport r = RowFileReader.read(f, options(4, Overflow.ERROR, true)).report();
        assertEquals(1, r.rows());
        assertEquals(0, r.truncated());
        assertEquals(Map.of(BadRow.TOO_LONG, new RowReport.Skipped(1, e.getMessage())), r.skipped());
    }

    @Test
    void aFileWithoutRowsIsAUserError() throws Exception {
        Path empty = write("empty.jsonl", "");
        assertEquals(empty + ": no rows (the file is empty)",
                assertThrows(InvalidInputException.class, () -> RowFileReader.read(empty, STRICT)).getMessage());
        Path allBad = write("bad.jsonl", "\n\n");
        assertEquals(allBad + ": no rows (2 bad lines skipped)",
                assertThrows(InvalidInputException.class, () -> RowFileReader.read(allBad, options(8, Overflow.TRUNCATE, true))).getMessage());
        Path missing = dir.resolve("missing.jsonl");
        assertEquals(missing + ": no such file", assertThrows(InvalidInputException.class, () -> RowFileReader.read(missing, STRICT)).getMessage());
        assertEquals(dir + ": is a directory, not a rows file", assertThrows(InvalidInputException.class, () -> RowFileReader.read(dir, STRICT)).getMessage());
    }

    @Test
    void aLongLineSpanningManyReadBuffersIsOneRow() throws Exception {
        int n = 50_000; // ~250 kB of JSON: several 64 kB chunks
        StringBuilder sb = new StringBuilder("{\"input_ids\": [");
        for (int i = 0; i < n; i++) sb.append(i > 0 ? ", " : "").append(i % VOCAB);
        sb.append("]}\n").append(GOOD).append('\n');
        Path f = write("wide.jsonl", sb.toString());
        TokenRows rows = RowFileReader.read(f, options(n, Overflow.TRUNCATE, false)).rows();
        assertEquals(2, rows.size());
        assertEquals(n, rows.row(0).length());
        assertEquals(49_999 % VOCAB, rows.row(0).inputIds()[49_999]);
    }

    @Test
    void overflowParsesTheConfigsWords() {
        assertEquals(Overflow.TRUNCATE, Overflow.parse("truncate"));
        assertEquals(Overflow.ERROR, Overflow.parse("error"));
        assertEquals(Overflow.SPLIT, Overflow.parse("SPLIT"));
        assertEquals("data.overflow must be truncate, split or error, got 'drop'",
                assertThrows(InvalidInputException.class, () -> Overflow.parse("drop")).getMessage());
    }

    @Test
    void splitCutsLongRowsIntoPiecesThatShareOneTokenSoEveryTargetIsTrainedOnce() throws Exception {
        // 10 tokens at seq_len 4: pieces start at 0, 3, 6 (each begins with the last token of the one before): [0..4) [3..7) [6..10)
        Path f = write("long.jsonl", """
                {"input_ids": [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]}
                {"input_ids": [1, 2, 3, 4, 5, 6, 7], "labels": [-100, -100, -100, -100, -100, 6, 7]}
                {"input_ids": [1, 2, 3]}
                """);
        RowFileReader.LoadedRows read = RowFileReader.read(f, options(4, Overflow.SPLIT, false));
        TokenRows rows = read.rows();
        assertEquals(5, rows.size());
        assertArrayEquals(new int[] {10, 11, 12, 13}, rows.row(0).inputIds());
        assertArrayEquals(new int[] {13, 14, 15, 16}, rows.row(1).inputIds());
        assertArrayEquals(new int[] {16, 17, 18, 19}, rows.row(2).inputIds());
        assertSame(rows.row(1).inputIds(), rows.row(1).labels());
        // targets 11..19 (9 of them), each once: 3 + 3 + 3
        assertEquals(9, rows.row(0).targets() + rows.row(1).targets() + rows.row(2).targets());
        // row 2: pieces [1,2,3,4] (no target: dropped) and [4,5,6,7] with labels [-100, -100, 6, 7]
        assertArrayEquals(new int[] {4, 5, 6, 7}, rows.row(3).inputIds());
        assertArrayEquals(new int[] {-100, -100, 6, 7}, rows.row(3).labels());
        assertEquals(2, rows.row(3).targets());
        RowReport r = read.report();
        assertEquals(2, r.split());
        assertEquals(1, r.droppedPieces());
        assertEquals(0, r.truncated());
        assertEquals(f + ": 5 rows, 19 tokens, 13 targets; 2 split (1 pieces without a target dropped)", r.summary());
    }

    @Test
    void aSplitRowWithNoTargetInAnyPieceIsABadRow() throws Exception {
        Path f = write("none.jsonl", GOOD + "\n{\"input_ids\": [1, 2, 3, 4, 5, 6], \"labels\": [1, -100, -100, -100, -100, -100]}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> RowFileReader.read(f, options(4, Overflow.SPLIT, false)));
        assertEquals(f + ":2: no trained target in any piece of the row: every label after the first is -100", e.getMessage());
    }
}
