package org.cce4j.trainer.config;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/training.md documents every key of the schema with its default and meaning, so the two cannot drift. */
class ConfigDocsTest {
    @Test
    void everyKeyIsInTheTableWithItsDefaultAndMeaning() throws IOException {
        String doc = Files.readString(Path.of("../docs/training.md"));
        for (ConfigKey k : ConfigSchema.keys().values()) {
            String row = doc.lines().filter(l -> l.startsWith("| `" + k.path() + "` |")).findFirst().orElse(null);
            assertTrue(row != null, "docs/training.md has no row for " + k.path());
            assertTrue(row.contains(k.doc().replace("\\\"", "\"")), k.path() + ": the meaning differs from ConfigSchema's: " + row);
            if (k.defaultValue() != null) {
                String def = k.defaultValue().toString().replace("[", "").replace("]", "");
                String shown = row.split("(?<!\\\\)\\|")[3].replace("`", "").replace("[", "").replace("]", "").strip();
                boolean same = shown.equals(def) || (k.defaultValue() instanceof Double d && Double.parseDouble(shown) == d);
                assertTrue(same, k.path() + ": default " + def + " but the docs say " + shown);
            }
        }
    }
}
