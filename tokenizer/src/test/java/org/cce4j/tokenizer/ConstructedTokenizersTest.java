package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * tokenizer.json files built here to exercise each component the real files of the other test do
 * not use (Metaspace pre-tokenizers, every normalizer, split behaviors, added-token flags,
 * post-processors, decoders, unk handling, subword prefixes and suffixes), each compared with
 * the Rust library (ids, offsets, decoded text) on the edge cases and a sample of the Brown corpus. The byte-level ones start
 * from GPT-2's vocabulary, the SentencePiece-style ones from Llama 2's; the prefix/suffix ones
 * use a small vocabulary built here.
 */
class ConstructedTokenizersTest {

    private static ObjectNode json(String s) {
        try {
            return (ObjectNode) TestData.JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode node(String json) {
        return json(json);
    }

    private static ObjectNode base(String model) {
        Path p = TestData.model(model).resolve("tokenizer.json");
        try {
            return (ObjectNode) TestData.JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Consumer<ObjectNode>> sentencePieceVariants() {
        Map<String, Consumer<ObjectNode>> v = new LinkedHashMap<>();
        String msDecoder = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":\"%s\",\"split\":%s},{\"type\":\"Fuse\"}]}";
        for (String scheme : List.of("first", "always", "never")) {
            for (boolean split : List.of(true, false)) {
                v.put("metaspace-" + scheme + "-split-" + split, t -> {
                    t.putNull("normalizer");
                    t.set("pre_tokenizer", node("{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":\"" + scheme + "\",\"split\":" + split + "}"));
                    t.set("decoder", node(msDecoder.formatted(scheme, split)));
                });
            }
        }
        v.put("metaspace-legacy-add-prefix-space", t -> {
            t.putNull("normalizer");
            t.set("pre_tokenizer", node("{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"add_prefix_space\":true}"));
            t.set("decoder", node("{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"add_prefix_space\":true}"));
        });
        v.put("metaspace-first-after-split", t -> {
            t.putNull("normalizer");
            t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
                    + "{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":\"first\",\"split\":true}]}"));
        });
        v.put("unk-no-fuse-no-byte-fallback", t -> {
            ((ObjectNode) t.get("model")).put("byte_fallback", false).put("fuse_unk", false);
        });
        v.put("unk-fused-no-byte-fallback", t -> ((ObjectNode) t.get("model")).put("byte_fallback", false).put("fuse_unk", true));
        v.put("no-unk-no-byte-fallback", t -> ((ObjectNode) t.get("model")).put("byte_fallback", false).putNull("unk_token"));
        v.put("nfkc-lowercase-replace-regex", t -> t.set("normalizer", node("{\"type\":\"Sequence\",\"normalizers\":["
                + "{\"type\":\"NFKC\"},{\"type\":\"Lowercase\"},{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\s{2,}\"},\"content\":\" \"},"
                + "{\"type\":\"Prepend\",\"prepend\":\"▁\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}]}")));
        v.put("nfd-strip-accents-strip", t -> t.set("normalizer", node("{\"type\":\"Sequence\",\"normalizers\":["
                + "{\"type\":\"NFD\"},{\"type\":\"StripAccents\"},{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true},"
                + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}]}")));
        v.put("nfkd-nfc", t -> t.set("normalizer", node("{\"type\":\"Sequence\",\"normalizers\":["
                + "{\"type\":\"NFKD\"},{\"type\":\"NFC\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}]}")));
        v.put("bert-normalizer", t -> t.set("normalizer", node("{\"type\":\"Sequence\",\"normalizers\":["
                + "{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
                + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}]}")));
        v.put("added-token-flags", t -> {
            ArrayNode added = (ArrayNode) t.get("added_tokens");
            added.add(node("{\"id\":0,\"content\":\"[MASK]\",\"single_word\":false,\"lstrip\":true,\"rstrip\":false,\"normalized\":false,\"special\":true}"));
            added.add(node("{\"id\":0,\"content\":\"<sep>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":true,\"normalized\":false,\"special\":false}"));
            added.add(node("{\"id\":0,\"content\":\"world\",\"single_word\":true,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":false}"));
            added.add(node("{\"id\":0,\"content\":\"Hello\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":true,\"special\":false}"));
            added.add(node("{\"id\":0,\"content\":\" the\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":true,\"special\":false}"));
            added.add(node("{\"id\":0,\"content\":\"<eot>\",\"single_word\":false,\"lstrip\":true,\"rstrip\":true,\"normalized\":false,\"special\":true}"));
        });
        v.put("template-with-eos", t -> t.set("post_processor", node("{\"type\":\"TemplateProcessing\","
                + "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],"
                + "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
                + "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]},\"</s>\":{\"id\":\"</s>\",\"ids\":[2],\"tokens\":[\"</s>\"]}}}")));
        v.put("bert-processing-strip-decoder", t -> {
            t.set("post_processor", node("{\"type\":\"BertProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",1]}"));
            t.set("decoder", node("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"▁\"},\"content\":\" \"},"
                    + "{\"type\":\"ByteFallback\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}"));
        });
        v.put("no-decoder-no-post-processor", t -> {
            t.putNull("decoder");
            t.putNull("post_processor");
        });
        return v;
    }

    private static Map<String, Consumer<ObjectNode>> byteLevelVariants() {
        Map<String, Consumer<ObjectNode>> v = new LinkedHashMap<>();
        v.put("bytelevel-add-prefix-space", t -> t.set("pre_tokenizer", node("{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":true,\"use_regex\":true}")));
        v.put("ignore-merges", t -> ((ObjectNode) t.get("model")).put("ignore_merges", true));
        v.put("digits-punctuation-bytelevel", t -> t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":["
                + "{\"type\":\"Digits\",\"individual_digits\":false},{\"type\":\"Punctuation\",\"behavior\":\"Contiguous\"},"
                + "{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":false,\"use_regex\":false}]}")));
        for (String behavior : List.of("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous")) {
            for (boolean invert : List.of(false, true)) {
                v.put("split-regex-" + behavior + "-invert-" + invert, t -> t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":["
                        + "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s+|[0-9]+|[.,!?]\"},\"behavior\":\"" + behavior + "\",\"invert\":" + invert + "},"
                        + "{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":false,\"use_regex\":false}]}")));
            }
            v.put("split-string-" + behavior, t -> t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":["
                    + "{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"" + behavior + "\",\"invert\":false},"
                    + "{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":false,\"use_regex\":false}]}")));
        }
        v.put("whitespace-then-bytelevel", t -> t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":["
                + "{\"type\":\"Whitespace\"},{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":true,\"use_regex\":false}]}")));
        v.put("whitespacesplit-bert-delimiter", t -> t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":["
                + "{\"type\":\"CharDelimiterSplit\",\"delimiter\":\"e\"},{\"type\":\"BertPreTokenizer\"},{\"type\":\"WhitespaceSplit\"},"
                + "{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":false,\"use_regex\":true}]}")));
        v.put("llama3-regex-on-gpt2", t -> t.set("pre_tokenizer", node("{\"type\":\"Sequence\",\"pretokenizers\":["
                + "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"" + escape(org.cce4j.tokenizer.pretokenize.WordScanner.LLAMA3) + "\"},\"behavior\":\"Isolated\",\"invert\":false},"
                + "{\"type\":\"ByteLevel\",\"trim_offsets\":false,\"add_prefix_space\":false,\"use_regex\":false}]}")));
        v.put("bytelevel-normalizer", t -> {
            t.set("normalizer", node("{\"type\":\"ByteLevel\"}"));
            t.set("pre_tokenizer", node("{\"type\":\"Split\",\"pattern\":{\"String\":\"Ġ\"},\"behavior\":\"MergedWithNext\",\"invert\":false}"));
        });
        v.put("roberta-processing", t -> t.set("post_processor", node("{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",0],\"trim_offsets\":true,\"add_prefix_space\":true}")));
        v.put("sequence-processing", t -> t.set("post_processor", node("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\",\"trim_offsets\":true,\"add_prefix_space\":false,\"use_regex\":true},"
                + "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|endoftext|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"<|endoftext|>\",\"type_id\":0}}],"
                + "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
                + "\"special_tokens\":{\"<|endoftext|>\":{\"id\":\"<|endoftext|>\",\"ids\":[50256],\"tokens\":[\"<|endoftext|>\"]}}}]}")));
        v.put("lowercase-strip-normalizers", t -> t.set("normalizer", node("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Lowercase\"},{\"type\":\"Strip\",\"strip_left\":false,\"strip_right\":true}]}")));
        v.put("added-tokens-normalized-lstrip-rstrip", t -> {
            t.set("normalizer", node("{\"type\":\"Lowercase\"}"));
            ArrayNode added = (ArrayNode) t.get("added_tokens");
            added.add(node("{\"id\":0,\"content\":\"<MASK>\",\"single_word\":false,\"lstrip\":true,\"rstrip\":true,\"normalized\":true,\"special\":true}"));
            added.add(node("{\"id\":0,\"content\":\"Brave new\",\"single_word\":true,\"lstrip\":false,\"rstrip\":false,\"normalized\":true,\"special\":false}"));
            added.add(node("{\"id\":0,\"content\":\"ing\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":false}"));
            added.add(node("{\"id\":0,\"content\":\"<|endoftext|>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}"));
        });
        v.put("decoders-replace-regex-bpe", t -> t.set("decoder", node("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteLevel\",\"trim_offsets\":true,\"add_prefix_space\":false,\"use_regex\":true},"
                + "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[aeiou]+\"},\"content\":\"_\"},{\"type\":\"BPEDecoder\",\"suffix\":\"e\"}]}")));
        v.put("wordpiece-decoder", t -> t.set("decoder", node("{\"type\":\"WordPiece\",\"prefix\":\"Ġ\",\"cleanup\":true}")));
        return v;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @TestFactory
    Stream<DynamicTest> sentencePieceStyle() {
        ObjectNode base = base("llama2");
        return variants(base, sentencePieceVariants());
    }

    @TestFactory
    Stream<DynamicTest> byteLevel() {
        ObjectNode base = base("gpt2");
        return variants(base, byteLevelVariants());
    }

    @TestFactory
    Stream<DynamicTest> subwordPrefixAndSuffix() {
        Map<String, Consumer<ObjectNode>> v = new LinkedHashMap<>();
        v.put("continuing-subword-prefix", t -> {});
        v.put("end-of-word-suffix", t -> {});
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : v.keySet()) {
            tests.add(DynamicTest.dynamicTest(name, () -> {
                String json = SmallVocabulary.build(name.startsWith("continuing") ? "##" : null,
                        name.startsWith("end") ? "</w>" : null);
                compareJson(name, json);
            }));
        }
        return tests.stream();
    }

    private Stream<DynamicTest> variants(ObjectNode base, Map<String, Consumer<ObjectNode>> variants) {
        return variants.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            ObjectNode t = base.deepCopy();
            e.getValue().accept(t);
            compareJson(e.getKey(), t.toString());
        }));
    }

    private static void compareJson(String name, String json) {
        Tokenizer ours = Tokenizer.fromJson(json);
        try (Reference ref = Reference.fromJson(json)) {
            List<String> texts = new ArrayList<>(TestData.edgeCases());
            texts.addAll(List.of("Hello world", "Hello  world", "hello world's <MASK> end", "a [MASK] b", "x <sep>   y",
                    "helloworld world worlds", "Brave new world", "brave new world", "<eot>  after", "before   <eot>",
                    "Testing <MASK>ing  the thing", "the the", " the", "HELLO Hello hello", "[MASK][MASK]  [MASK]"));
            List<String> brown = TestData.brown();
            texts.addAll(brown.subList(0, Math.min(brown.size(), 400)));
            Comparison.compare(name, ours, ref, texts);
        }
    }
}
