package org.cce4j.trainer.config;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceImpl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The config contract: defaults, overrides, and one line naming the key for every mistake. */
class ConfigReaderTest {
    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        Path f = dir.resolve("run.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    private String error(String yaml, String... overrides) throws IOException {
        Path f = write(yaml);
        return assertThrows(InvalidInputException.class, () -> TrainConfig.read(f, List.of(overrides))).getMessage();
    }

    private static final String MINIMAL = "model: m\noutput: runs/a\ndata:\n  train: rows.jsonl\n";

    @Test
    void defaultsFillEveryKeyAndPathsResolveAgainstTheConfigFolder() throws IOException {
        TrainConfig c = TrainConfig.read(write(MINIMAL), List.of());
        assertEquals(dir.resolve("m"), c.model());
        assertEquals(dir.resolve("runs/a"), c.output());
        assertEquals(dir.resolve("rows.jsonl"), c.data().train());
        assertEquals(1, c.train().epochs());
        assertEquals(4, c.train().microBatchSize());
        assertEquals(2.0e-5, c.train().lr());
        assertEquals(TrainConfig.Schedule.COSINE, c.train().schedule());
        assertEquals(0.9, c.train().beta1());
        assertEquals(0.999, c.train().beta2());
        assertEquals(1.0, c.train().maxGradNorm());
        assertEquals(CceImpl.CCE, c.loss().impl());
        assertTrue(Double.isNaN(c.loss().filterEps()));
        assertNull(c.lora());
        assertTrue(c.data().shuffle());
        assertEquals(500, c.save().everySteps());
        // the resolved tree holds every key of the schema but lora's
        for (ConfigKey k : ConfigSchema.keys().values()) {
            if (k.section().equals("lora") || k.type() == ConfigKey.Type.OPTIONAL_SECTION) continue;
            assertTrue(ConfigReader.at(c.resolved(), k.path()) != null, k.path());
        }
    }

    @Test
    void loraSectionGetsItsDefaults() throws IOException {
        TrainConfig c = TrainConfig.read(write(MINIMAL + "lora:\n  r: 8\n"), List.of());
        assertEquals(8, c.lora().r());
        assertEquals(32.0, c.lora().alpha());
        assertEquals(7, c.lora().targetModules().size());
        assertNull(c.lora().init());
    }

    @Test
    void overridesParseAsYaml() throws IOException {
        TrainConfig c = TrainConfig.read(write(MINIMAL), List.of("train.lr=3e-4", "train.adam_betas=[0.8, 0.95]",
                "loss.impl=baseline", "lora.r=4", "data.shuffle=false"));
        assertEquals(3e-4, c.train().lr());
        assertEquals(0.8, c.train().beta1());
        assertEquals(0.95, c.train().beta2());
        assertEquals(CceImpl.BASELINE, c.loss().impl());
        assertEquals(4, c.lora().r());
        assertTrue(!c.data().shuffle());
    }

    @Test
    void theResolvedYamlReadsBackToTheSameConfig() throws IOException {
        TrainConfig c = TrainConfig.read(write(MINIMAL + "lora:\n  r: 8\ntrain:\n  lr: 1e-3\n"), List.of());
        Path again = dir.resolve("again.yaml");
        Files.writeString(again, ConfigReader.toYaml(c.resolved()));
        TrainConfig d = TrainConfig.read(again, List.of());
        assertEquals(c.resolved(), d.resolved());
    }

    @Test
    void mistakesNameTheKey() throws IOException {
        assertEquals(dir.resolve("run.yaml") + ": unknown key train.lrr (did you mean train.lr?)", error(MINIMAL + "train:\n  lrr: 1\n"));
        assertEquals(dir.resolve("run.yaml") + ": unknown key modle (did you mean model?)", error(MINIMAL + "modle: x\n"));
        assertTrue(error(MINIMAL + "train:\n  lr: fast\n").endsWith("train.lr must be a number, got 'fast'"));
        assertTrue(error(MINIMAL + "train:\n  schedule: cos\n").endsWith("train.schedule must be one of constant, linear, cosine, got 'cos'"));
        assertTrue(error(MINIMAL + "train:\n  micro_batch_size: 2.5\n").endsWith("train.micro_batch_size must be an integer, got 2.5"));
        assertTrue(error(MINIMAL + "train:\n  micro_batch_size: 0\n").endsWith("train.micro_batch_size must be >= 1, got 0"));
        assertTrue(error(MINIMAL + "train:\n  adam_betas: [0.9]\n").endsWith("train.adam_betas must be a list of two numbers, got [0.9]"));
        assertTrue(error(MINIMAL + "train: 3\n").endsWith("train must be a section (keys on indented lines below it)"));
        assertTrue(error("output: o\ndata:\n  train: r\n").contains(": model is required"));
        assertTrue(error(MINIMAL + "lora:\n  dropout: 1\n").endsWith("lora.dropout must be in [0, 1), got 1.0"));
        assertEquals("--set train.lrr: unknown key (did you mean train.lr?)", error(MINIMAL, "train.lrr=1"));
        assertEquals("--set train.lr: expected key=value (e.g. --set train.lr=2e-5)", error(MINIMAL, "train.lr"));
        assertEquals(dir.resolve("run.yaml") + ": empty", error("  \n"));
        assertTrue(error("model: [unclosed\n").contains(": not valid YAML"));
        assertTrue(error("- a\n- b\n").endsWith("the config must be a mapping of keys (model:, data:, train:, ...)"));
        String missing = assertThrows(InvalidInputException.class, () -> TrainConfig.read(dir.resolve("nope.yaml"), List.of())).getMessage();
        assertEquals(dir.resolve("nope.yaml") + ": no such file (--config)", missing);
    }

    @Test
    void nearestKeySuggestsOnlyTypos() {
        assertEquals("train.lr", NearestKey.of("train.lrr", List.of("train.lr", "train.seed")));
        assertNull(NearestKey.of("completely_else", List.of("train.lr", "train.seed")));
        assertEquals(3, NearestKey.distance("kitten", "sitting"));
    }
}
