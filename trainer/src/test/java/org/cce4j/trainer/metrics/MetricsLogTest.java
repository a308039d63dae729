package org.cce4j.trainer.metrics;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** metrics.jsonl: exact lines, round trips, and resumes that end with the file an uninterrupted run writes. */
class MetricsLogTest {
    @TempDir
    Path dir;

    /** A training step's record with values that vary by step, in the order the loop writes them. */
    static MetricsRecord train(long step) {
        return MetricsRecord.builder(step)
                .put("loss", 3.0 / (1 + step) + 0.125)
                .put("grad_norm", 0.5 + step / 64.0)
                .put("lr", 2.0e-5 * step / 10)
                .put("tokens", 500 + step)
                .put("tokens_per_s", 41210.5 + step)
                .put("mem_mb", 10244.0)
                .build();
    }

    static MetricsRecord eval(long step) {
        return MetricsRecord.builder(step)
                .put("eval_loss", 2.0 / step)
                .put("eval_ppl", Math.exp(2.0 / step))
                .put("eval_accuracy", 0.25)
                .build();
    }

    /** Steps 1..last with an evaluation after every 5th, as a run with eval every 5 steps writes them. */
    static List<MetricsRecord> run(long last) {
        var records = new ArrayList<MetricsRecord>();
        for (long s = 1; s <= last; s++) {
            records.add(train(s));
            if (s % 5 == 0) records.add(eval(s));
        }
        return records;
    }

    Path write(String name, List<MetricsRecord> records) throws IOException {
        Path path = dir.resolve(name);
        try (MetricsLog log = MetricsLog.create(path)) {
            for (MetricsRecord r : records) log.append(r);
        }
        return path;
    }

    @Test
    void writesOneCompactLinePerRecordInTheGivenKeyOrder() throws IOException {
        MetricsRecord r = MetricsRecord.builder(120).put("loss", 2.3127).put("grad_norm", 0.75).put("lr", 1.8e-5)
                .put("tokens", 41210).put("tokens_per_s", 41210.5).put("mem_mb", 10244.0).build();
        Path path = write("metrics.jsonl", List.of(r, eval(120)));
        assertEquals("""
                {"step":120,"loss":2.3127,"grad_norm":0.75,"lr":1.8E-5,"tokens":41210,"tokens_per_s":41210.5,"mem_mb":10244.0}
                {"step":120,"eval_loss":0.016666666666666666,"eval_ppl":1.016806330386261,"eval_accuracy":0.25}
                """, Files.readString(path));
    }

    @Test
    void roundTripsEveryRecordWithItsTypes() throws IOException {
        List<MetricsRecord> records = run(12);
        List<MetricsRecord> read = MetricsLog.read(write("metrics.jsonl", records));
        assertEquals(records, read);
        MetricsRecord first = read.get(0);
        assertEquals(List.of("step", "loss", "grad_norm", "lr", "tokens", "tokens_per_s", "mem_mb"), List.copyOf(first.values().keySet()));
        assertEquals(1, first.step());
        assertFalse(first.isEval());
        assertEquals(501L, first.get("tokens"));
        assertEquals(3.0 / 2 + 0.125, first.number("loss"));
        MetricsRecord ev = read.get(5);
        assertTrue(ev.isEval());
        assertEquals(5, ev.step());
        assertEquals(0.4, ev.number("eval_loss"));
    }

    @Test
    void nonFiniteNumbersAreWrittenAsNull() throws IOException {
        MetricsRecord r = MetricsRecord.builder(7).put("loss", Double.NaN).put("grad_norm", Double.POSITIVE_INFINITY)
                .put("lr", Double.NEGATIVE_INFINITY).put("f", Float.NaN).put("tokens", 3).build();
        Path path = write("metrics.jsonl", List.of(r));
        assertEquals("{\"step\":7,\"loss\":null,\"grad_norm\":null,\"lr\":null,\"f\":null,\"tokens\":3}\n", Files.readString(path));
        MetricsRecord back = MetricsLog.read(path).get(0);
        assertEquals(r, back);
        assertNull(back.get("loss"));
        assertTrue(Double.isNaN(back.number("grad_norm")));
    }

    @Test
    void aFloatIsWrittenAsItsShortestDecimal() throws IOException {
        MetricsRecord r = MetricsRecord.builder(1).put("loss", 2.3127f).put("grad_norm", 0.1f).build();
        Path path = write("metrics.jsonl", List.of(r));
        assertEquals("{\"step\":1,\"loss\":2.3127,\"grad_norm\":0.1}\n", Files.readString(path));
        assertEquals(2.3127f, (float) MetricsLog.read(path).get(0).number("loss"));
    }

    @Test
    void readsLinesAsPythonsJsonWritesThem() throws IOException {
        Path path = dir.resolve("metrics.jsonl");
        Files.writeString(path, "{\"step\": 3, \"loss\": NaN, \"grad_norm\": 1.5, \"lr\": 1e-05, \"tokens\": 12}\n");
        MetricsRecord r = MetricsLog.read(path).get(0);
        assertEquals(MetricsRecord.builder(3).putNull("loss").put("grad_norm", 1.5).put("lr", 1e-5).put("tokens", 12).build(), r);
    }

    @Test
    void resumeKeepsExactlyTheStepsUpToTheCheckpointAndThenMatchesAnUninterruptedRun() throws IOException {
        List<MetricsRecord> all = run(20);
        byte[] uninterrupted = Files.readAllBytes(write("uninterrupted.jsonl", all));

        // a run that got to step 13 (past its checkpoint at step 10) before it stopped
        Path path = write("metrics.jsonl", all.subList(0, indexAfter(all, 13)));
        try (MetricsLog log = MetricsLog.resume(path, 10)) {
            assertArrayEquals(prefixThrough(uninterrupted, 10), Files.readAllBytes(path));
            for (MetricsRecord r : all.subList(indexAfter(all, 10), all.size())) log.append(r);
        }
        assertArrayEquals(uninterrupted, Files.readAllBytes(path));
        assertEquals(List.of(path), listing());
    }

    @Test
    void resumeDropsATornLastLine() throws IOException {
        List<MetricsRecord> all = run(12);
        byte[] uninterrupted = Files.readAllBytes(write("uninterrupted.jsonl", all));
        Path path = write("metrics.jsonl", all.subList(0, indexAfter(all, 10)));
        // kill -9 in the middle of writing step 11's line
        String step11 = train(11).toJson();
        Files.writeString(path, step11.substring(0, step11.length() / 2), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);

        assertEquals(all.subList(0, indexAfter(all, 10)), MetricsLog.read(path), "a reader ignores the torn line");
        try (MetricsLog log = MetricsLog.resume(path, 10)) {
            assertArrayEquals(prefixThrough(uninterrupted, 10), Files.readAllBytes(path));
            for (MetricsRecord r : all.subList(indexAfter(all, 10), all.size())) log.append(r);
        }
        assertArrayEquals(uninterrupted, Files.readAllBytes(path));
        assertEquals(List.of(path), listing());
    }

    @Test
    void resumeWithNothingToDropLeavesTheFileAsItIs() throws IOException {
        Path path = write("metrics.jsonl", run(10));
        byte[] before = Files.readAllBytes(path);
        MetricsLog.resume(path, 10).close();
        assertArrayEquals(before, Files.readAllBytes(path));
    }

    @Test
    void resumeAtStepZeroEmptiesTheLogAndAMissingLogStartsEmpty() throws IOException {
        Path path = write("metrics.jsonl", run(4));
        MetricsLog.resume(path, 0).close();
        assertEquals(0, Files.size(path));
        Path missing = dir.resolve("sub/metrics.jsonl");
        try (MetricsLog log = MetricsLog.resume(missing, 5)) {
            log.append(train(6));
        }
        assertEquals(List.of(train(6)), MetricsLog.read(missing));
    }

    @Test
    void aNewRunRefusesAnotherRunsMetrics() throws IOException {
        Path path = write("metrics.jsonl", run(2));
        var e = assertThrows(InvalidInputException.class, () -> MetricsLog.create(path));
        assertTrue(e.getMessage().startsWith(path + ": already exists"), e.getMessage());
    }

    @Test
    void aBrokenCompleteLineNamesTheFileAndLine() throws IOException {
        Path path = dir.resolve("metrics.jsonl");
        Files.writeString(path, train(1).toJson() + "\n{\"loss\": 2.0}\n");
        var e = assertThrows(InvalidInputException.class, () -> MetricsLog.read(path));
        assertEquals(path + ", line 2: 'step' must be a non-negative integer, found null", e.getMessage());
        Files.writeString(path, train(1).toJson() + "\n{\"step\": 2, \"loss\": [1]}\n");
        e = assertThrows(InvalidInputException.class, () -> MetricsLog.resume(path, 5));
        assertTrue(e.getMessage().startsWith(path + ", line 2: 'loss' must be a number"), e.getMessage());
    }

    @Test
    void aKeyGivenTwiceIsRefused() {
        var b = MetricsRecord.builder(1).put("loss", 1.0);
        assertThrows(IllegalArgumentException.class, () -> b.put("loss", 2.0));
        assertThrows(IllegalArgumentException.class, () -> b.put("step", 2));
        assertThrows(IllegalArgumentException.class, () -> train(1).number("eval_loss"));
    }

    /** The index just after the last record with step <= s. */
    static int indexAfter(List<MetricsRecord> records, long s) {
        int i = 0;
        while (i < records.size() && records.get(i).step() <= s) i++;
        return i;
    }

    /** The bytes of the lines of a log whose step is <= s, found by parsing each line's step by hand. */
    static byte[] prefixThrough(byte[] log, long s) {
        StringBuilder kept = new StringBuilder();
        for (String line : new String(log, StandardCharsets.UTF_8).split("\n")) {
            long step = Long.parseLong(line.substring("{\"step\":".length(), line.indexOf(',')));
            if (step <= s) kept.append(line).append('\n');
        }
        return kept.toString().getBytes(StandardCharsets.UTF_8);
    }

    List<Path> listing() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> !p.getFileName().toString().equals("uninterrupted.jsonl")).toList();
        }
    }
}
