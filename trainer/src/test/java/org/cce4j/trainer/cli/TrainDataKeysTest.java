package org.cce4j.trainer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The data keys of the token cache and the held-back validation set, wrong: exit status 2 and one line naming the key. */
class TrainDataKeysTest {
    @TempDir
    Path dir;

    private String error(Path cfg, String... sets) {
        String[] args = new String[3 + 2 * sets.length];
        args[0] = "train";
        args[1] = "--config";
        args[2] = cfg.toString();
        for (int i = 0; i < sets.length; i++) {
            args[3 + 2 * i] = "--set";
            args[4 + 2 * i] = sets[i];
        }
        CliRun r = CliRun.of(args);
        assertEquals(2, r.status(), r.err());
        return r.errorLine();
    }

    @Test
    void badDataKeysAreOneLineWithStatus2() throws IOException {
        Path cfg = org.cce4j.trainer.train.TinyRunAccess.setUp(dir, "");
        assertEquals("train: error: " + cfg + ": data.validation and data.validation_fraction are both set; give one of them",
                error(cfg, "data.validation_fraction=0.1"));
        assertEquals("train: error: " + cfg + ": data.validation_fraction must be in [0, 1), got 1.0",
                error(cfg, "data.validation=null", "data.validation_fraction=1"));
        assertEquals("train: error: " + cfg + ": data.validation_fraction must be in [0, 1), got -0.5",
                error(cfg, "data.validation=null", "data.validation_fraction=-0.5"));
        assertEquals("train: error: " + cfg + ": data.tokenize_threads must be >= 1, got 0", error(cfg, "data.tokenize_threads=0"));
        assertEquals("train: error: " + cfg + ": data.cache must be true or false, got 'maybe'", error(cfg, "data.cache=maybe"));
        Files.writeString(dir.resolve("a-file"), "");
        String noFolder = error(cfg, "data.cache_dir=" + dir.resolve("a-file").resolve("tokens"));
        assertEquals("train: error: data.cache_dir " + dir.resolve("a-file").resolve("tokens") + ": cannot create the token cache folder", 
                noFolder.substring(0, noFolder.indexOf(" (")));
    }
}
