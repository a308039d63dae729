package org.cce4j.tokenizer.chat;

import org.cce4j.tokenizer.TokenizerException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The markers {@link GenerationTag} leaves in a rendering, turned into character ranges of the text
 * without them. The ranges are those of transformers' {@code AssistantTracker}: offsets into the
 * final text where each block's output starts and ends (an empty block gives an empty range).
 * Messages must not hold the marker characters themselves (they are Unicode noncharacters, which
 * no text of ours carries), or the ranges would be wrong; {@link #requireAbsent} refuses them.
 */
final class GenerationMarkers {
    /** The text without markers, and the [start, end) of each generation block in it, in order. */
    record Parsed(String text, List<int[]> ranges) {}

    private GenerationMarkers() {}

    static Parsed parse(String raw) {
        StringBuilder text = new StringBuilder(raw.length());
        List<int[]> ranges = new ArrayList<>();
        int open = -1;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == GenerationTag.START) {
                if (open >= 0) throw new TokenizerException("chat template error: a {% generation %} block inside another one");
                open = text.length();
            } else if (c == GenerationTag.END) {
                if (open < 0) throw new TokenizerException("chat template error: {% endgeneration %} without its {% generation %}");
                ranges.add(new int[] {open, text.length()});
                open = -1;
            } else {
                text.append(c);
            }
        }
        if (open >= 0) throw new TokenizerException("chat template error: a {% generation %} block that does not end");
        return new Parsed(text.toString(), ranges);
    }

    static String strip(String raw) {
        if (raw.indexOf(GenerationTag.START) < 0 && raw.indexOf(GenerationTag.END) < 0) return raw;
        StringBuilder sb = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c != GenerationTag.START && c != GenerationTag.END) sb.append(c);
        }
        return sb.toString();
    }

    /** Refuses messages whose strings hold a marker character (U+FDD0 or U+FDD1). */
    static void requireAbsent(Object value) {
        if (value instanceof String s) {
            if (s.indexOf(GenerationTag.START) >= 0 || s.indexOf(GenerationTag.END) >= 0) {
                throw new TokenizerException("a message holds U+FDD0 or U+FDD1, Unicode noncharacters that mark generation blocks while rendering");
            }
        } else if (value instanceof Map<?, ?> m) {
            for (Object v : m.values()) requireAbsent(v);
        } else if (value instanceof List<?> l) {
            for (Object v : l) requireAbsent(v);
        }
    }
}
