package org.cce4j.tokenizer.decode;

import org.cce4j.tokenizer.normalize.Normalizer;
import org.cce4j.tokenizer.text.ByteLevelAlphabet;
import org.cce4j.tokenizer.text.Utf8;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The decoders of tokenizer.json, each following the Rust library's definition. */
public final class Decoders {
    private Decoders() {}

    public record Sequence(List<Decoder> steps) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder d : steps) tokens = d.decodeChain(tokens);
            return tokens;
        }
    }

    /**
     * All tokens' byte-level characters back to bytes, then one lossy UTF-8 decode. A token with a
     * character outside the alphabet (an added token such as {@code <|eot_id|>} with non-ASCII
     * text) contributes its own UTF-8 bytes.
     */
    public record ByteLevel() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                boolean inAlphabet = true;
                for (int i = 0; i < t.length(); i++) {
                    if (ByteLevelAlphabet.byteOf(t.charAt(i)) < 0) { inAlphabet = false; break; }
                }
                if (inAlphabet) {
                    for (int i = 0; i < t.length(); i++) bytes.write(ByteLevelAlphabet.byteOf(t.charAt(i)));
                } else {
                    bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                }
            }
            return List.of(Utf8.decodeLossy(bytes.toByteArray()));
        }
    }

    /** The replacement character back to a space, dropped at the start of the first token unless prepend_scheme is never. */
    public record Metaspace(char replacement, boolean dropFirst) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                StringBuilder sb = new StringBuilder(t.length());
                for (int k = 0; k < t.length(); k++) {
                    char c = t.charAt(k);
                    if (c == replacement) {
                        if (!(i == 0 && dropFirst)) sb.append(' ');
                    } else sb.append(c);
                }
                out.add(sb.toString());
            }
            return out;
        }
    }

    /** Runs of {@code <0xAB>} tokens become the string their bytes spell, or one U+FFFD per byte if invalid. */
    public record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    pending.write(b);
                    continue;
                }
                flush(pending, out);
                out.add(t);
            }
            flush(pending, out);
            return out;
        }

        private static void flush(ByteArrayOutputStream pending, List<String> out) {
            if (pending.size() == 0) return;
            byte[] b = pending.toByteArray();
            String s = Utf8.decodeLossy(b);
            if (s.indexOf('\uFFFD') >= 0 && !java.util.Arrays.equals(s.getBytes(StandardCharsets.UTF_8), b)) {
                for (int i = 0; i < b.length; i++) out.add("\uFFFD");
            } else {
                out.add(s);
            }
            pending.reset();
        }

        private static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
            int hi = Character.digit(t.charAt(3), 16), lo = Character.digit(t.charAt(4), 16);
            if (hi < 0 || lo < 0 || t.charAt(3) > 127 || t.charAt(4) > 127) return -1;
            return hi * 16 + lo;
        }
    }

    /** All tokens joined into one. */
    public record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Up to {@code start} leading and {@code stop} trailing {@code content} characters removed from each token. */
    public record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int a = 0;
                for (int i = 0; i < Math.min(start, cps.length); i++) {
                    if (cps[i] == content) a = i + 1;
                    else break;
                }
                int b = cps.length;
                for (int i = 0; i < Math.min(stop, cps.length); i++) {
                    if (cps[cps.length - 1 - i] == content) b = cps.length - i - 1;
                    else break;
                }
                out.add(a < b ? new String(cps, a, b - a) : "");
            }
            return out;
        }
    }

    /** A Replace normalizer applied to each token. */
    public record Replace(Normalizer replace) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) out.add(replace.normalize(t));
            return out;
        }
    }

    /** The end-of-word suffix becomes a space, except on the last token. */
    public record Bpe(String suffix) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) out.add(tokens.get(i).replace(suffix, i == tokens.size() - 1 ? "" : " "));
            return out;
        }
    }

    /** WordPiece: continuation prefix removed, other tokens after the first get a space; optional cleanup. */
    public record WordPiece(String prefix, boolean cleanup) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                if (i != 0) t = t.startsWith(prefix) ? t.replaceFirst(java.util.regex.Pattern.quote(prefix), "") : " " + t;
                if (cleanup) {
                    t = t.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't")
                            .replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re");
                }
                out.add(t);
            }
            return out;
        }
    }
}
