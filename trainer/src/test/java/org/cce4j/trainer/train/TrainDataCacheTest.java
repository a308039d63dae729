package org.cce4j.trainer.train;

import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.data.Documents;
import org.cce4j.trainer.data.Overflow;
import org.cce4j.trainer.data.RowFileReader;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.ValidationSplit;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `train` through the token cache with data.validation_fraction: the held-back rows are evaluated
 * (eval records in metrics.jsonl over exactly their targets) and never trained on; a second run reads
 * the cache ("data: N rows from cache") and writes the same numbers, bit for bit, as the run that
 * tokenized and as a run without the cache; a stopped run resumes on the same split to the same metrics.
 */
class TrainDataCacheTest {
    @TempDir
    Path dir;

    private static final List<String> HOLD_BACK = List.of("data.validation=null", "data.validation_fraction=0.3", "eval.every_steps=2");

    private Trainer.Result run(Path cfg, String output, ByteArrayOutputStream sink, List<String> extra, boolean resume, StopSignals signals) throws IOException {
        List<String> o = new ArrayList<>(HOLD_BACK);
        o.addAll(extra);
        o.add("output=" + output);
        TrainConfig c = resume ? TrainConfig.read(dir.resolve(output).resolve(RunFolder.CONFIG), List.of()) : TrainConfig.read(cfg, o);
        return Trainer.run(c, TrainResumeTest.quiet(sink).withResume(resume).withSignals(signals));
    }

    private List<MetricsRecord> metrics(String output) throws IOException {
        return MetricsLog.read(dir.resolve(output).resolve(RunFolder.METRICS));
    }

    @Test
    void heldBackRowsAreEvaluatedAndACachedRunIsTheSame() throws IOException {
        Path cfg = TinyRun.setUp(dir, "");
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        Trainer.Result a = run(cfg, "first", first, List.of(), false, StopSignals.none());
        assertTrue(first.toString().contains("train: validation 3 of 10 documents held back from data.train (data.validation_fraction 0.3)"), first.toString());
        assertFalse(first.toString().contains("rows from cache"), first.toString());
        assertTrue(first.toString().contains("tokenized rows.jsonl: 10 rows, 126 tokens"), first.toString());
        assertEquals(4, a.steps(), "7 training rows in steps of 4, 2 epochs");

        // the held-back rows, independently: the rows file read into memory and split by the seed
        var rows = RowFileReader.read(dir.resolve("rows.jsonl"), new RowOptions(TinyRun.VOCAB, 2048, Overflow.TRUNCATE, false)).rows();
        ValidationSplit split = ValidationSplit.of(rows, Documents.NONE, 0.3, 7);
        long heldTargets = 0, allTargets = 0;
        for (int i = 0; i < split.validation().size(); i++) heldTargets += split.validation().row(i).targets();
        for (int i = 0; i < rows.size(); i++) allTargets += rows.row(i).targets();
        List<MetricsRecord> ma = metrics("first");
        List<MetricsRecord> evals = ma.stream().filter(MetricsRecord::isEval).toList();
        assertEquals(List.of(2L, 4L), evals.stream().map(MetricsRecord::step).toList());
        for (MetricsRecord e : evals) assertEquals(heldTargets, (long) e.number("eval_tokens"));
        long epoch1 = ma.stream().filter(r -> !r.isEval() && r.step() <= 2).mapToLong(r -> (long) r.number("tokens")).sum();
        assertEquals(allTargets - heldTargets, epoch1, "an epoch trains on every target but the held-back rows'");

        ByteArrayOutputStream second = new ByteArrayOutputStream();
        run(cfg, "second", second, List.of(), false, StopSignals.none());
        assertTrue(second.toString().contains("data: 10 rows from cache "), second.toString());
        ByteArrayOutputStream uncached = new ByteArrayOutputStream();
        run(cfg, "uncached", uncached, List.of("data.cache=false"), false, StopSignals.none());
        assertFalse(uncached.toString().contains("rows from cache") || uncached.toString().contains("tokenized"), uncached.toString());
        for (String other : List.of("second", "uncached")) {
            List<MetricsRecord> mb = metrics(other);
            assertEquals(ma.size(), mb.size());
            for (int i = 0; i < ma.size(); i++) {
                for (String k : TrainResumeTest.EXACT) {
                    if (ma.get(i).has(k)) assertEquals(ma.get(i).get(k), mb.get(i).get(k), other + ": " + k + " at record " + i);
                }
            }
        }
        // the report lines are the same whether the rows came from the cache or not
        assertEquals(line(first.toString(), "train: " + dir.resolve("rows.jsonl")), line(second.toString(), "train: " + dir.resolve("rows.jsonl")));
        assertEquals(line(first.toString(), "train: validation"), line(uncached.toString(), "train: validation"));

        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        run(cfg, "stopped", sink, List.of("save.every_steps=1"), false, StopSignals.afterPolls(2));
        run(cfg, "stopped", sink, List.of(), true, StopSignals.none());
        List<MetricsRecord> mc = metrics("stopped");
        assertEquals(ma.size(), mc.size());
        for (int i = 0; i < ma.size(); i++) {
            for (String k : TrainResumeTest.EXACT) if (ma.get(i).has(k)) assertEquals(ma.get(i).get(k), mc.get(i).get(k), "resumed: " + k + " at record " + i);
        }
    }

    private static String line(String log, String prefix) {
        return log.lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow(() -> new AssertionError("no line " + prefix + " in\n" + log));
    }
}
