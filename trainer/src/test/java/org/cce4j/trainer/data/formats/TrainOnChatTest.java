package org.cce4j.trainer.data.formats;

import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.train.Trainer;
import org.cce4j.trainer.train.TinyRunAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `train` on chat conversations end to end: the model folder's tokenizer and chat template turn the
 * messages into rows, only assistant tokens are trained on (the run's trained-token counts equal the
 * dataset reader's targets), and the run finishes with its loss falling.
 */
class TrainOnChatTest {
    @TempDir
    Path dir;

    @Test
    void aChatRunTrainsOnAssistantTokensOnly() throws Exception {
        Path cfg = TinyRunAccess.setUp(dir, "");
        Path model = dir.resolve("model");
        Files.writeString(model.resolve("config.json"), Files.readString(model.resolve("config.json")).replace("\"vocab_size\": 61", "\"vocab_size\": 262"));
        org.cce4j.trainer.train.TinyRunAccess.rewriteWeights(model);
        String[] tok = ByteTokenizer.files(ByteTokenizer.TEMPLATE);
        Files.writeString(model.resolve("tokenizer.json"), tok[0]);
        Files.writeString(model.resolve("tokenizer_config.json"), tok[1]);
        StringBuilder rows = new StringBuilder();
        String[][] qa = {{"hi", "hello there"}, {"what is 2+2", "four"}, {"name a colour", "blue, or green"}, {"say yes", "yes"}};
        for (int i = 0; i < 8; i++) {
            String[] p = qa[i % qa.length];
            rows.append("{\"messages\": [{\"role\": \"user\", \"content\": \"").append(p[0]).append("\"}, {\"role\": \"assistant\", \"content\": \"")
                    .append(p[1]).append("\"}]}\n");
        }
        Files.writeString(dir.resolve("chat.jsonl"), rows.toString());
        TrainConfig c = TrainConfig.read(cfg, List.of("data.train=chat.jsonl", "data.validation=null", "data.shuffle=false",
                "train.epochs=6", "train.lr=1e-2", "train.warmup_steps=0", "save.every_steps=0"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Trainer.run(c, Trainer.Options.defaults().withErr(new PrintStream(err, true), false));
        assertTrue(err.toString().contains("format chat (detected)"), err.toString());

        var tokenizer = ByteTokenizer.build(ByteTokenizer.TEMPLATE);
        var rowOptions = new org.cce4j.trainer.data.RowOptions(262, c.data().seqLen(), org.cce4j.trainer.data.Overflow.TRUNCATE, false);
        var expected = DatasetReader.read(dir.resolve("chat.jsonl"), FormatOptions.defaults(rowOptions), tokenizer,
                () -> org.cce4j.tokenizer.chat.ChatTemplate.of(tokenizer));
        long targets = 0;
        for (int i = 0; i < expected.rows().size(); i++) targets += expected.rows().row(i).targets();
        List<MetricsRecord> m = MetricsLog.read(dir.resolve("run").resolve(RunFolder.METRICS));
        long perEpoch = m.stream().limit(2).mapToLong(r -> (long) r.number("tokens")).sum();   // 8 rows in steps of 4: 2 steps an epoch
        assertEquals(targets, perEpoch, "trained tokens of an epoch = the assistant tokens (and end-of-turn) of the rows");
        long assistantBytes = 0;
        for (int i = 0; i < 8; i++) assistantBytes += qa[i % qa.length][1].getBytes().length;
        assertTrue(targets < assistantBytes + 8 * 3 && targets >= assistantBytes, "targets " + targets + " for " + assistantBytes + " assistant bytes");
        assertTrue(m.get(m.size() - 1).number("loss") < m.get(0).number("loss") * 0.9, "the loss falls: " + m.get(0).number("loss") + " -> " + m.get(m.size() - 1).number("loss"));
    }
}
