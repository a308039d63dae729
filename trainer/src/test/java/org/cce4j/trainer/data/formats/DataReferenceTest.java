package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.Overflow;
import org.cce4j.trainer.data.RowOptions;
import org.cce4j.trainer.data.TokenRows;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Token rows of the real Llama 3.1, Gemma 3 and Qwen 3 tokenizers against transformers 5 and TRL's
 * tokenization (the fixtures tools/reference/data_fixtures.py writes into
 * src/test/resources/data-reference/): the same ids and the same trained tokens, exactly.
 * Chats are read both with the fixture's generation-tagged copy of the real template (method a)
 * and with the real template (method b, prefix renderings), and both must give transformers'
 * assistant mask; last_assistant must give its last run; prompt/completion, text and alpaca rows
 * must give TRL's ids and completion mask. Skips when the fixtures or the tokenizers are absent.
 */
class DataReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static JsonNode fixture(String name) throws Exception {
        try (InputStream in = DataReferenceTest.class.getResourceAsStream("/data-reference/" + name + ".json")) {
            Assumptions.assumeTrue(in != null, "no data-reference/" + name + ".json: run tools/reference/data_fixtures.py (transformers 5"
                    + " and tokenizers) to write trainer/src/test/resources/data-reference/; skipping");
            return JSON.readTree(in);
        }
    }

    static Path tokenizerFolder(String name) {
        Path p = Path.of(System.getProperty("tokenizer.testData", "../.data/tokenizer"), "models", name);
        Assumptions.assumeTrue(Files.isRegularFile(p.resolve("tokenizer.json")),
                "reference tokenizer '" + name + "' not fetched (run tools/fetch-test-data.sh with network); skipping");
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3_1", "gemma3", "qwen3"})
    void rowsAreTransformersAndTrlsRows(String name) throws Exception {
        JsonNode f = fixture(name);
        Path folder = tokenizerFolder(name);
        Tokenizer tokenizer = Tokenizer.load(folder);
        ChatTemplate real = ChatTemplate.of(tokenizer, folder);
        assertEquals(f.get("templates").get("real").asText(), real.template(), "the fixture was made from this folder's template");
        ChatTemplate tagged = new ChatTemplate(f.get("templates").get("tagged").asText(), specials(tokenizer));
        FormatOptions options = FormatOptions.defaults(new RowOptions(tokenizer.vocabSize(), 8192, Overflow.ERROR, false));
        List<String> problems = new ArrayList<>();

        List<JsonNode> chats = list(f.get("chat"));
        List<int[]> chatIds = new ArrayList<>(), chatMasks = new ArrayList<>();
        for (JsonNode c : chats) {
            chatIds.add(ints(c.get("input_ids")));
            chatMasks.add(ints(c.get("assistant_masks")));
            if (!real.render(messages(c), false).equals(c.get("text").asText())) problems.add("chat " + c.get("name").asText() + ": rendered text differs");
        }
        Path chatFile = jsonl("chat.jsonl", chats.stream().map(c -> (JsonNode) object().set("messages", c.get("messages"))).toList());
        compare(problems, "chat/tagged", read(chatFile, options, tokenizer, () -> tagged), chatIds, chatMasks);
        compare(problems, "chat/prefixes", read(chatFile, options, tokenizer, () -> real), chatIds, chatMasks);
        List<int[]> lastMasks = chatMasks.stream().map(DataReferenceTest::lastRun).toList();
        compare(problems, "chat/last_assistant/tagged", read(chatFile, options.withTrainOn(TrainOn.LAST_ASSISTANT), tokenizer, () -> tagged), chatIds, lastMasks);
        compare(problems, "chat/last_assistant/prefixes", read(chatFile, options.withTrainOn(TrainOn.LAST_ASSISTANT), tokenizer, () -> real), chatIds, lastMasks);

        List<JsonNode> pairs = list(f.get("prompt_completion"));
        Path pairFile = jsonl("pairs.jsonl", pairs.stream().map(p -> object().put("prompt", p.get("prompt").asText()).put("completion", p.get("completion").asText())).toList());
        LoadedDataset pc = read(pairFile, options, tokenizer, () -> real);
        compare(problems, "prompt_completion", pc, pairs.stream().map(p -> ints(p.get("input_ids"))).toList(), pairs.stream().map(p -> ints(p.get("completion_mask"))).toList());
        assertEquals(pairs.stream().filter(p -> p.get("boundary_merged").asBoolean()).count(), pc.report().boundaryMerged(), name + ": rows whose tokens merge across the boundary");

        List<JsonNode> texts = list(f.get("text"));
        Path textFile = jsonl("text.jsonl", texts.stream().map(t -> object().put("text", t.get("text").asText())).toList());
        compare(problems, "text", read(textFile, options, tokenizer, () -> real), texts.stream().map(t -> ints(t.get("input_ids"))).toList(),
                texts.stream().map(t -> ones(t.get("input_ids").size())).toList());

        for (AlpacaStyle style : AlpacaStyle.values()) {
            List<JsonNode> rows = list(f.get("alpaca")).stream().filter(a -> a.get("style").asText().equals(style.name().toLowerCase())).toList();
            Path file = jsonl("alpaca-" + style + ".jsonl", rows.stream().map(a -> (ObjectNode) a.get("row")).toList());
            compare(problems, "alpaca/" + style, read(file, options.withAlpacaStyle(style), tokenizer, () -> tagged),
                    rows.stream().map(a -> ints(a.get("input_ids"))).toList(), rows.stream().map(a -> ints(a.get("mask"))).toList());
        }
        if (!problems.isEmpty()) fail(name + ": " + problems.size() + " differences:\n" + String.join("\n", problems));
    }

    private LoadedDataset read(Path file, FormatOptions options, Tokenizer tokenizer, Supplier<ChatTemplate> template) {
        return DatasetReader.read(file, options, tokenizer, template);
    }

    /** Row i must have ids[i], and labels = ids where mask[i] is 1, else -100. */
    private static void compare(List<String> problems, String what, LoadedDataset read, List<int[]> ids, List<int[]> masks) {
        TokenRows rows = read.rows();
        if (rows.size() != ids.size()) {
            problems.add(what + ": " + rows.size() + " rows, expected " + ids.size());
            return;
        }
        for (int i = 0; i < ids.size(); i++) {
            int[] expectedLabels = ids.get(i).clone();
            for (int t = 0; t < expectedLabels.length; t++) if (masks.get(i)[t] == 0) expectedLabels[t] = -100;
            if (!Arrays.equals(ids.get(i), rows.row(i).inputIds())) {
                problems.add(what + " row " + i + ": ids\n  expected " + Arrays.toString(ids.get(i)) + "\n  actual   " + Arrays.toString(rows.row(i).inputIds()));
            } else if (!Arrays.equals(expectedLabels, rows.row(i).labels())) {
                problems.add(what + " row " + i + ": labels\n  expected " + Arrays.toString(expectedLabels) + "\n  actual   " + Arrays.toString(rows.row(i).labels()));
            }
        }
    }

    /** The mask with only its last run of ones kept (the last assistant turn). */
    static int[] lastRun(int[] mask) {
        int[] out = new int[mask.length];
        int t = mask.length - 1;
        while (t >= 0 && mask[t] == 0) t--;
        while (t >= 0 && mask[t] == 1) out[t--] = 1;
        return out;
    }

    private Path jsonl(String name, List<? extends JsonNode> rows) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (JsonNode r : rows) sb.append(JSON.writeValueAsString(r)).append('\n');
        Path p = dir.resolve(name);
        Files.writeString(p, sb, StandardCharsets.UTF_8);
        return p;
    }

    private static ObjectNode object() {
        return JSON.createObjectNode();
    }

    private static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<java.util.Map<String, Object>> messages(JsonNode chat) {
        return JSON.convertValue(chat.get("messages"), List.class);
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    private static int[] ones(int n) {
        int[] out = new int[n];
        Arrays.fill(out, 1);
        return out;
    }

    static java.util.Map<String, Object> specials(Tokenizer t) {
        java.util.Map<String, Object> s = new java.util.HashMap<>();
        if (t.config().bosToken() != null) s.put("bos_token", t.config().bosToken());
        if (t.config().eosToken() != null) s.put("eos_token", t.config().eosToken());
        if (t.config().unkToken() != null) s.put("unk_token", t.config().unkToken());
        if (t.config().padToken() != null) s.put("pad_token", t.config().padToken());
        return s;
    }
}
