package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A second reference: ids and decoded text from the Python tokenizers library (0.23, a newer Rust
 * core than DJL's 0.21), made by tools/reference/tokenizer_ids.py for five real tokenizers on the
 * edge cases and a Brown sample. Needs the fetched tokenizer files; skips without them.
 */
class PythonTokenizersFixtureTest {

    @Test
    void sameIdsAndTextAsPythonTokenizers() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/reference/tokenizer_ids.json")) {
            f = TestData.JSON.readTree(in);
        }
        JsonNode texts = f.get("texts");
        List<String> problems = new ArrayList<>();
        int compared = 0;
        for (var it = f.get("models").fields(); it.hasNext(); ) {
            var e = it.next();
            if (!Files.isRegularFile(TestData.root().resolve("models").resolve(e.getKey()).resolve("tokenizer.json"))) continue;
            Tokenizer t = Tokenizer.load(TestData.model(e.getKey()));
            for (int i = 0; i < texts.size(); i++) {
                String text = texts.get(i).asText();
                JsonNode row = e.getValue().get(i);
                int[] plain = TestData.JSON.convertValue(row.get("ids"), int[].class);
                int[] special = TestData.JSON.convertValue(row.get("ids_special"), int[].class);
                compared++;
                if (!Arrays.equals(plain, t.encode(text, false))) problems.add(e.getKey() + " ids of " + Comparison.quote(text));
                if (!Arrays.equals(special, t.encode(text, true))) problems.add(e.getKey() + " ids+special of " + Comparison.quote(text));
                if (!row.get("decoded").asText().equals(t.decode(special, false))) problems.add(e.getKey() + " decode of " + Comparison.quote(text));
                if (!row.get("decoded_skip").asText().equals(t.decode(special, true))) problems.add(e.getKey() + " decode(skip) of " + Comparison.quote(text));
            }
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(compared > 0, "no fetched tokenizer matches the fixture; skipping");
        if (!problems.isEmpty()) fail(problems.size() + " differences with tokenizers " + f.get("tokenizers").asText() + ":\n"
                + String.join("\n", problems.subList(0, Math.min(20, problems.size()))));
        assertTrue(compared >= texts.size());
    }
}
