package org.cce4j.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Real tokenizer files of several families against the Rust library: ids with and without special
 * tokens, the offsets of encodeWithOffsets, and decoded text with and without skipping special
 * tokens, on the Brown corpus, nlp-corpus, the edge cases, and texts containing each tokenizer's
 * added tokens.
 */
class RealTokenizersTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "llama3_1", "gemma3", "llama2", "gemma", "gemma2", "qwen3", "gpt2", "gpt4o",
            "deepseek_v3", "claude"})
    void sameIdsOffsetsAndTextAsTheRustLibrary(String name) {
        Path folder = TestData.model(name);
        Tokenizer ours = Tokenizer.load(folder);
        try (Reference ref = Reference.load(folder)) {
            List<String> texts = new ArrayList<>(TestData.edgeCases());
            texts.addAll(TestData.withAddedTokens(ours));
            texts.addAll(TestData.brown());
            texts.addAll(TestData.nlpCorpus());
            Comparison.compare(name, ours, ref, texts);
        }
    }
}
