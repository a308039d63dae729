package org.cce4j.tokenizer.model;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The two merge loops (linear scan for short words, heap for long ones) give the same result on
 * random words over a small alphabet with random merge tables, including repeated pairs.
 */
class BpeMergerTest {
    @Test
    void scanAndHeapAgree() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int symbols = 3 + rnd.nextInt(5);
            PairMap merges = new PairMap(64);
            int next = symbols;
            int rank = 0;
            for (int i = 0; i < 40; i++) {
                int a = rnd.nextInt(next), b = rnd.nextInt(next);
                if (merges.find(a, b) >= 0) continue;
                merges.put(a, b, rank++, next++);
            }
            int n = 1 + rnd.nextInt(200);
            int[] word = new int[n];
            for (int i = 0; i < n; i++) word[i] = rnd.nextInt(symbols);
            int[] x = word.clone(), y = word.clone();
            int nx = BpeMerger.mergeByScan(merges, x, n);
            int ny = BpeMerger.mergeByHeap(merges, y, n);
            assertArrayEquals(Arrays.copyOf(x, nx), Arrays.copyOf(y, ny), "trial " + trial);
        }
    }
}
