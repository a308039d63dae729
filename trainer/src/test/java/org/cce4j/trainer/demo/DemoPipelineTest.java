package org.cce4j.trainer.demo;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.train.Trainer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo's whole pipeline in --quick mode on a slice of the real texts (.data/demo, fetched by the
 * build; skipped with a message when absent, e.g. offline): pretraining lowers the validation loss
 * below that of a uniform guess (ln V) and from its first evaluation to its last; both run folders hold
 * metrics.jsonl and loss.png; and the chat fine-tune trains on exactly the assistant tokens, counted
 * independently as each answer's own tokens plus its {@code <|end|>}.
 */
class DemoPipelineTest {
    static final Path DATA = Path.of("..", ".data", "demo").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void theQuickDemoPretrainsAndFineTunesOnRealText() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(DATA.resolve("moby-dick")) && Files.isDirectory(DATA.resolve("debian-faq")),
                "no demo data in " + DATA + " (offline build?): run tools/fetch-demo-data.sh");
        StringWriter out = new StringWriter();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        DemoPlan plan = DemoPlan.QUICK;
        DemoPipeline.Result r = DemoPipeline.run(new DemoPipeline.Options(plan, DATA, dir.resolve("demo"), "cpu", new PrintWriter(out, true),
                Trainer.Options.defaults().withErr(new PrintStream(err, true), false)));
        String said = out + "\n" + err;

        List<MetricsRecord> pre = MetricsLog.read(r.pretrain().resolve(RunFolder.METRICS));
        List<Double> evals = pre.stream().filter(MetricsRecord::isEval).map(m -> m.number("eval_loss")).toList();
        assertEquals(plan.pretrainSteps() / plan.pretrainEvalEvery(), evals.size(), said);
        assertTrue(evals.getLast() < evals.getFirst(), "the validation loss falls: " + evals);
        assertTrue(evals.getLast() < Math.log(plan.vocabSize()), "below a uniform guess's ln V = " + Math.log(plan.vocabSize()) + ": " + evals);
        for (Path run : List.of(r.pretrain(), r.chat())) {
            assertTrue(Files.size(run.resolve(RunFolder.METRICS)) > 0, run + " has metrics.jsonl");
            assertTrue(Files.size(run.resolve("loss.png")) > 0, run + " has loss.png");
            assertTrue(Files.isDirectory(run.resolve(RunFolder.FINAL)), run + " has final/");
        }

        Tokenizer tokenizer = Tokenizer.load(r.model());
        ChatTemplate template = ChatTemplate.of(tokenizer, r.model());
        long assistantTokens = 0;
        for (FaqPairs.Pair p : r.trainPairs()) {
            String rendered = template.render(List.of(ChatTemplate.message("user", p.question()), ChatTemplate.message("assistant", p.answer())), false);
            assertTrue(tokenizer.encode(rendered, false).length <= plan.seqLen(), "every conversation fits in seq_len, none is cut: " + p);
            assistantTokens += tokenizer.encode(p.answer(), false).length + 1;   // the answer and its <|end|>
        }
        List<MetricsRecord> chat = MetricsLog.read(r.chat().resolve(RunFolder.METRICS));
        assertEquals(1, plan.chatEpochs(), "one epoch: the steps' tokens add up to the training pairs' targets");
        long trained = chat.stream().filter(m -> !m.isEval()).mapToLong(m -> (long) m.number("tokens")).sum();
        assertEquals(assistantTokens, trained, "the fine-tune trains on the assistant tokens only");
        assertTrue(said.contains("after the fine-tune"), said);
    }
}
