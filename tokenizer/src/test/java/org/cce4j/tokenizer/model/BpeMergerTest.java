package org.cce4j.tokenizer.model;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The two merge loops (linear scan for short words, heap for long ones) give the same result on
 * random words over a small alphabet with random merge tables, including repeated pairs; with
 * lengths (the offsets path), each final symbol's length is the sum of the lengths of the initial
 * symbols it is made of, which the merge table alone determines (how many base symbols each id
 * expands to).
 */
class BpeMergerTest {
    @Test
    void scanAndHeapAgreeAndCarryLengths() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int symbols = 3 + rnd.nextInt(5);
            PairMap merges = new PairMap(64);
            int next = symbols;
            int rank = 0;
            int[] expansion = new int[symbols + 40];   // how many base symbols each id stands for
            Arrays.fill(expansion, 0, symbols, 1);
            for (int i = 0; i < 40; i++) {
                int a = rnd.nextInt(next), b = rnd.nextInt(next);
                if (merges.find(a, b) >= 0) continue;
                expansion[next] = expansion[a] + expansion[b];
                merges.put(a, b, rank++, next++);
            }
            int n = 1 + rnd.nextInt(200);
            int[] word = new int[n];
            for (int i = 0; i < n; i++) word[i] = rnd.nextInt(symbols);
            int[] x = word.clone(), y = word.clone();
            int nx = BpeMerger.mergeByScan(merges, x, null, n);
            int ny = BpeMerger.mergeByHeap(merges, y, null, n);
            assertArrayEquals(Arrays.copyOf(x, nx), Arrays.copyOf(y, ny), "trial " + trial);

            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) lengths[i] = 1 + rnd.nextInt(4);
            int[] expected = new int[nx];
            for (int k = 0, at = 0; k < nx; k++) {
                for (int e = 0; e < expansion[x[k]]; e++) expected[k] += lengths[at++];
            }
            int[] xs = word.clone(), ys = word.clone(), xl = lengths.clone(), yl = lengths.clone();
            assertEquals(nx, BpeMerger.mergeByScan(merges, xs, xl, n));
            assertEquals(ny, BpeMerger.mergeByHeap(merges, ys, yl, n));
            assertArrayEquals(Arrays.copyOf(x, nx), Arrays.copyOf(xs, nx), "trial " + trial + ": ids with lengths");
            assertArrayEquals(expected, Arrays.copyOf(xl, nx), "trial " + trial + ": scan lengths");
            assertArrayEquals(expected, Arrays.copyOf(yl, ny), "trial " + trial + ": heap lengths");
        }
    }
}
