package org.cce4j.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.generate.Generator;
import org.cce4j.transformer.generate.SamplingOptions;
import org.cce4j.transformer.generate.StopTokens;
import org.cce4j.transformer.lora.LoraAdapters;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate} on the transformer module's Gemma 2 reference checkpoint (a window of 4, softcaps,
 * vocabulary 97) with a tokenizer made here to fit it (one token per character from ' ' to '}', the
 * specials &lt;pad&gt; 0, &lt;eos&gt; 1 and &lt;bos&gt; 2, a chat template): what it prints is the
 * decoded continuation that the library's generation gives for the same ids (itself tested against
 * the full forward and transformers in the transformer module), with and without --chat, an adapter
 * and sampling; bad options exit 2 with one line.
 */
class GenerateCommandTest {
    static final Path REFERENCE = Path.of("../transformer/src/test/resources/hf-reference/gemma2");
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
            + "{% if add_generation_prompt %}<bot>{% endif %}";

    @TempDir
    Path dir;
    Path model;

    @BeforeEach
    void modelWithTokenizer() throws Exception {
        model = Files.createDirectory(dir.resolve("model"));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) Files.copy(REFERENCE.resolve(f), model.resolve(f));
        Files.writeString(model.resolve("tokenizer.json"), tokenizerJson());
        ObjectNode config = JSON.createObjectNode().put("bos_token", "<bos>").put("eos_token", "<eos>").put("pad_token", "<pad>")
                .put("chat_template", TEMPLATE);
        Files.writeString(model.resolve("tokenizer_config.json"), config.toString());
    }

    /** A character-level BPE tokenizer of 97 ids that adds &lt;bos&gt; and decodes by joining. */
    static String tokenizerJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0").putNull("truncation").putNull("padding").putNull("normalizer").putNull("pre_tokenizer");
        ObjectNode vocab = JSON.createObjectNode();
        String[] specials = {"<pad>", "<eos>", "<bos>"};
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specials.length; i++) {
            vocab.put(specials[i], i);
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        for (char c = ' '; c <= '}'; c++) vocab.put(String.valueOf(c), 3 + c - ' ');
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<bos>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ObjectNode bos = post.putObject("special_tokens").putObject("<bos>").put("id", "<bos>");
        bos.putArray("ids").add(2);
        bos.putArray("tokens").add("<bos>");
        root.putObject("decoder").put("type", "Fuse");
        ObjectNode m = root.putObject("model").put("type", "BPE").putNull("unk_token");
        m.set("vocab", vocab);
        m.putArray("merges");
        return root.toString();
    }

    /** What the library generates for these ids, decoded as the command prints it. */
    private String expected(int[] ids, SamplingOptions sampling, int maxNew, LoraAdapter adapter) throws Exception {
        CpuBackend be = new CpuBackend();
        try (HfCheckpoint ckpt = HfCheckpoint.open(model);
             TransformerModel m = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), be), be)) {
            if (adapter != null) LoraAdapters.attach(m, adapter.config(), adapter, 0);
            int[] out = Generator.generate(m, ids, maxNew, sampling, StopTokens.of(ckpt.config(), ckpt.generationConfig().orElse(null)), null).tokens();
            return Tokenizer.load(model).decode(out, true);
        }
    }

    private CliRun generate(String... extra) {
        String[] base = {"generate", "--model", model.toString(), "--device", "cpu"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliRun.of(args);
    }

    @Test
    void greedyPrintsTheLibrarysContinuation() throws Exception {
        Tokenizer tok = Tokenizer.load(model);
        int[] ids = tok.encode("Hello, world", true);
        assertEquals(2, ids[0], "the prompt starts with <bos>, as tokenizer(prompt) gives it");
        CliRun r = generate("--prompt", "Hello, world", "--max-new-tokens", "20");
        assertEquals(0, r.status(), r.err());
        String text = expected(ids, SamplingOptions.greedy(), 20, null);
        assertFalse(text.isEmpty());
        assertEquals(text + System.lineSeparator(), r.out());
        assertTrue(r.err().startsWith("generate: " + ids.length + " prompt tokens, "), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void chatRendersTheTemplateAsAUserTurn() throws Exception {
        Tokenizer tok = Tokenizer.load(model);
        int[] ids = tok.encode("<bos><user>Hi<bot>", false);
        assertEquals(2, ids[0]);
        assertEquals("<user>Hi<bot>".length() + 1, ids.length, "<bos> once, from the template: no special tokens added");
        CliRun r = generate("--prompt", "Hi", "--chat", "--max-new-tokens", "15");
        assertEquals(0, r.status(), r.err());
        String text = expected(ids, SamplingOptions.greedy(), 15, null);
        assertEquals(text + System.lineSeparator(), r.out());
        // chat_template.jinja, where newer transformers save the template, comes first
        Files.writeString(model.resolve("chat_template.jinja"), "{{ bos_token }}{% for m in messages %}[{{ m['content'] }}]{% endfor %}");
        int[] other = tok.encode("<bos>[Hi]", false);
        CliRun j = generate("--prompt", "Hi", "--chat", "--max-new-tokens", "15");
        assertEquals(0, j.status(), j.err());
        assertEquals(expected(other, SamplingOptions.greedy(), 15, null) + System.lineSeparator(), j.out());
    }

    @Test
    void anAdapterApplies() throws Exception {
        Path adapterDir = dir.resolve("adapter");
        LoraConfig config = LoraConfig.of(2, 4, List.of("q_proj", "v_proj", "down_proj"), 0.1, "gemma2");
        SplittableRandom rnd = new SplittableRandom(9);
        Map<String, LoraAdapter.Pair> pairs = new LinkedHashMap<>();
        try (HfCheckpoint ckpt = HfCheckpoint.open(model)) {
            CpuBackend be = new CpuBackend();
            try (TransformerModel m = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), be), be)) {
                m.linears().values().stream().filter(l -> config.targets(l.path())).forEach(l ->
                        pairs.put(l.path(), new LoraAdapter.Pair(random(rnd, 2, l.inFeatures()), random(rnd, l.outFeatures(), 2))));
            }
        }
        LoraAdapter.save(adapterDir, config, pairs, DType.F32);
        pairs.values().forEach(p -> {
            p.a().close();
            p.b().close();
        });
        int[] ids = Tokenizer.load(model).encode("abc", true);
        String with, without = expected(ids, SamplingOptions.greedy(), 20, null);
        try (LoraAdapter a = LoraAdapter.open(adapterDir)) {
            with = expected(ids, SamplingOptions.greedy(), 20, a);
        }
        assertFalse(with.equals(without), "the adapter changes the continuation (else this test could not see it applied)");
        CliRun r = generate("--prompt", "abc", "--adapter", adapterDir.toString(), "--max-new-tokens", "20");
        assertEquals(0, r.status(), r.err());
        assertEquals(with + System.lineSeparator(), r.out());
    }

    private static Tensor random(SplittableRandom rnd, int rows, int cols) {
        Tensor t = Tensor.zeros(DType.F32, rows, cols);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (rnd.nextGaussian() * 0.5));
        return t;
    }

    @Test
    void samplingIsSeeded() throws Exception {
        int[] ids = Tokenizer.load(model).encode("xyz", true);
        String[] opts = {"--prompt", "xyz", "--temperature", "1.3", "--top-p", "0.9", "--top-k", "40", "--max-new-tokens", "25"};
        CliRun a = generate(concat(opts, "--seed", "3")), b = generate(concat(opts, "--seed", "3"));
        assertEquals(0, a.status(), a.err());
        assertEquals(a.out(), b.out());
        assertEquals(expected(ids, new SamplingOptions(1.3, 40, 0.9, 3), 25, null) + System.lineSeparator(), a.out());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void badOptionsAreOneLineErrors() throws Exception {
        assertError(generate("--prompt", "a", "--top-p", "1.5"), "--top-p must be in (0, 1]");
        assertError(generate("--prompt", "a", "--temperature", "-1"), "--temperature must be 0 (greedy) or positive");
        assertError(generate("--prompt", "a", "--top-k", "-2"), "--top-k must be 0 (off) or positive");
        assertError(generate("--prompt", "a", "--max-new-tokens", "0"), "--max-new-tokens");
        assertError(generate("--prompt", "a", "--adapter", dir.resolve("nothing").toString()), "--adapter");
        assertError(CliRun.of("generate", "--model", dir.resolve("nothing").toString(), "--prompt", "a"), "no such folder");
        Files.delete(model.resolve("tokenizer_config.json"));
        assertError(generate("--prompt", "a", "--chat"), "has no chat template");
        Files.delete(model.resolve("tokenizer.json"));
        assertError(generate("--prompt", "a"), "no tokenizer.json");
    }

    private static void assertError(CliRun r, String part) {
        assertEquals(Main.USER_ERROR, r.status(), r.err());
        String line = r.errorLine();
        assertTrue(line.startsWith("generate: error: ") && line.contains(part), line);
    }

    @Test
    void theStreamHoldsBackAnIncompleteCharacter() {
        // a byte-level tokenizer whose "é" is two tokens: the first alone decodes to U+FFFD and is held back
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0").putNull("truncation").putNull("padding").putNull("normalizer").putNull("post_processor");
        ObjectNode vocab = JSON.createObjectNode();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(byteChar(b)), b);
        root.putArray("added_tokens");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode m = root.putObject("model").put("type", "BPE").putNull("unk_token");
        m.set("vocab", vocab);
        m.putArray("merges");
        Tokenizer tok = Tokenizer.fromJson(root.toString());
        int[] ids = tok.encode("aé", false);
        assertArrayEquals(new int[] {'a', 0xC3, 0xA9}, ids);
        java.io.StringWriter sink = new java.io.StringWriter();
        java.io.PrintWriter out = new java.io.PrintWriter(sink);
        TextStream s = new TextStream(tok, out);
        s.add(ids[0]);
        assertEquals("a", sink.toString());
        s.add(ids[1]);
        assertEquals("a", sink.toString(), "half of é is not printed");
        s.add(ids[2]);
        assertEquals("aé", sink.toString());
        s.finish();
        assertEquals("aé" + System.lineSeparator(), sink.toString());
    }

    /** GPT-2's byte-to-character map: printable bytes stand for themselves, the others from U+0100 on. */
    private static char byteChar(int b) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (char) b;
        int n = 0;
        for (int x = 0; x < b; x++) if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
        return (char) (256 + n);
    }
}
