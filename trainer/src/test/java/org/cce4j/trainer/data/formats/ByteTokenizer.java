package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A byte-level BPE tokenizer small enough to reason about by hand: id b is byte b (GPT-2's byte
 * alphabet), one merge ("Ġy", id 256: " y", so that "Answer: " + "yes" merges across the
 * boundary), and added special tokens {@code <s>} 257 (BOS, put in front by the post-processor),
 * {@code </s>} 258 (EOS), {@code <|user|>} 259, {@code <|assistant|>} 260, {@code <|end|>} 261.
 */
final class ByteTokenizer {
    static final int SPACE_Y = 256, BOS = 257, EOS = 258, USER = 259, ASSISTANT = 260, END = 261;
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}<|user|>{{ m.content }}<|end|>"
            + "{% elif m.role == 'assistant' %}<|assistant|>{{ m.content }}<|end|>{% else %}{{ raise_exception('unknown role ' + m.role) }}"
            + "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
    static final String TAGGED = TEMPLATE.replace("<|assistant|>{{ m.content }}<|end|>",
            "<|assistant|>{% generation %}{{ m.content }}<|end|>{% endgeneration %}");

    private ByteTokenizer() {}

    static Tokenizer build(String chatTemplate) {
        String[] files = files(chatTemplate);
        return Tokenizer.fromJson(files[0], files[1]);
    }

    /** tokenizer.json and tokenizer_config.json of the tokenizer, as text. */
    static String[] files(String chatTemplate) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0").putNull("truncation").putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>"};
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", BOS + i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        post.putArray("pair").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ((ArrayNode) post.get("pair")).addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(BOS);
        bos.putArray("tokens").add("<s>");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix")
                .put("fuse_unk", false).put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        List<String> alphabet = byteAlphabet();
        for (int b = 0; b < 256; b++) vocab.put(alphabet.get(b), b);
        vocab.put("Ġy", SPACE_Y);
        model.putArray("merges").addArray().add("Ġ").add("y");
        ObjectNode config = json.createObjectNode().put("bos_token", "<s>").put("eos_token", "</s>");
        if (chatTemplate != null) config.put("chat_template", chatTemplate);
        return new String[] {root.toString(), config.toString()};
    }

    /** The ids of plain text with no merge in it: its UTF-8 bytes. */
    static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xFF;
        return out;
    }

    /** GPT-2's printable stand-in for each byte. */
    private static List<String> byteAlphabet() {
        List<Integer> printable = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) printable.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) printable.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) printable.add(b);
        String[] chars = new String[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (printable.contains(b)) chars[b] = String.valueOf((char) b);
            else chars[b] = String.valueOf((char) (256 + n++));
        }
        return List.of(chars);
    }
}
