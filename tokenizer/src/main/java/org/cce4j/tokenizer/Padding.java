package org.cce4j.tokenizer;

import java.util.List;

/**
 * tokenizer.json's {@code padding}: to a fixed length or to the longest of a batch (a single
 * encode is a batch of one), rounded up to a multiple, at the right or the left.
 */
public record Padding(Integer fixedLength, int multipleOf, boolean left, int padId) {
    void apply(List<int[]> batch) {
        int target;
        if (fixedLength != null) target = fixedLength;
        else {
            target = 0;
            for (int[] ids : batch) target = Math.max(target, ids.length);
        }
        if (multipleOf > 0 && target % multipleOf != 0) target += multipleOf - target % multipleOf;
        for (int i = 0; i < batch.size(); i++) {
            int[] ids = batch.get(i);
            if (ids.length >= target) continue;
            int[] out = new int[target];
            java.util.Arrays.fill(out, padId);
            System.arraycopy(ids, 0, out, left ? target - ids.length : 0, ids.length);
            batch.set(i, out);
        }
    }
}
