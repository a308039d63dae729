package org.cce4j.tokenizer;

/**
 * tokenizer.json's {@code truncation} for one sequence: at most {@code maxLength} ids including
 * the special tokens the post-processor adds, cut at the right or the left end.
 */
public record Truncation(int maxLength, boolean left) {
    int[] apply(int[] ids, int reserved) {
        int max = Math.max(0, maxLength - reserved);
        if (ids.length <= max) return ids;
        return left ? java.util.Arrays.copyOfRange(ids, ids.length - max, ids.length) : java.util.Arrays.copyOf(ids, max);
    }
}
