package org.cce4j.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the texts the Python cross-check encodes (tools/reference/tokenizer_ids.py): the edge
 * cases and a sample of the Brown corpus, as a JSON list. Run by hand when the fixture is renewed.
 */
final class DumpTexts {
    public static void main(String[] args) throws Exception {
        List<String> texts = new ArrayList<>(TestData.edgeCases());
        List<String> brown = TestData.brown();
        texts.addAll(brown.subList(0, Math.min(300, brown.size())));
        texts.addAll(List.of("<|begin_of_text|>Hi<|eot_id|>", "<s> [INST] x [/INST]", "<|im_start|>user\nhi<|im_end|>", "<bos>x<eos>"));
        Files.writeString(Path.of(args[0]), TestData.JSON.writeValueAsString(texts));
    }
}
