package org.cce4j.trainer.data.packing;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.EpochOrder;
import org.cce4j.trainer.data.TokenRows;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Best-fit decreasing as Packer states it (packs worked out by hand), the bounds every packing keeps
 * (each row once, no pack over seq_len, at most 11/9 of the fewest packs possible + 1), and the pack
 * count that does not depend on the order while the packs themselves do.
 */
class PackerTest {

    @Test
    void rowsGoLongestFirstIntoThePackWithTheLeastRoomThatFits() {
        // seq_len 8, lengths r0..r5 = 3 5 2 6 2 4; longest first: r3 6, r1 5, r5 4, r0 3, r2 2, r4 2
        //   r3 → new A (room 2); r1 → new B (3); r5 → new C (4); r0 3 → B, the least room >= 3 (0)
        //   r2 2 → A (room 2 is the least >= 2: 0); r4 2 → C (2)
        // listed by earliest row in the order: B holds r0, A r2, C r4
        Packs packs = Packer.pack(Lengths.of(3, 5, 2, 6, 2, 4), new int[] {0, 1, 2, 3, 4, 5}, 8);
        assertEquals(3, packs.count());
        assertArrayEquals(new int[] {1, 0}, packs.rows(0));
        assertArrayEquals(new int[] {3, 2}, packs.rows(1));
        assertArrayEquals(new int[] {5, 4}, packs.rows(2));
        assertArrayEquals(new int[] {8, 8, 6}, new int[] {packs.tokens(0), packs.tokens(1), packs.tokens(2)});
    }

    @Test
    void equalRoomsGoToThePackThatReachedItLast() {
        // seq_len 10: r0 6 → A (4), r1 6 → B (4), r2 4: rooms A 4, B 4 → B, which reached 4 last; r3 4 → A
        Packs packs = Packer.pack(Lengths.of(6, 6, 4, 4), new int[] {0, 1, 2, 3}, 10);
        assertArrayEquals(new int[] {0, 3}, packs.rows(0));
        assertArrayEquals(new int[] {1, 2}, packs.rows(1));
    }

    @Test
    void equalLengthsKeepTheOrdersOrder() {
        // every row of length 5, seq_len 10: pairs in the order's order
        Packs packs = Packer.pack(Lengths.of(5, 5, 5, 5, 5), new int[] {4, 2, 0, 3, 1}, 10);
        assertEquals(3, packs.count());
        assertArrayEquals(new int[] {4, 2}, packs.rows(0));
        assertArrayEquals(new int[] {0, 3}, packs.rows(1));
        assertArrayEquals(new int[] {1}, packs.rows(2));
    }

    @Test
    void everyRowOnceNoPackOverSeqLenAndCloseToTheFewestPacks() {
        for (long seed = 0; seed < 20; seed++) {
            int seqLen = 64 + (int) seed * 13;
            TokenRows rows = Lengths.random(3000, seqLen, seed);
            int[] order = EpochOrder.of(rows.size(), true, seed, 0);
            Packs packs = Packer.pack(rows, order, seqLen);
            int[] seen = new int[rows.size()];
            long tokens = 0;
            for (int p = 0; p < packs.count(); p++) {
                int sum = 0;
                for (int r : packs.rows(p)) {
                    seen[r]++;
                    sum += rows.length(r);
                }
                assertEquals(sum, packs.tokens(p), "tokens of pack " + p);
                assertTrue(sum <= seqLen, "pack " + p + " holds " + sum + " > " + seqLen);
                tokens += sum;
            }
            for (int i = 0; i < seen.length; i++) assertEquals(1, seen[i], "row " + i + " (seed " + seed + ")");
            long fewest = Math.ceilDiv(tokens, seqLen); // no packing has fewer packs than this
            assertTrue(packs.count() <= 11.0 / 9 * fewest + 1, packs.count() + " packs, at least " + fewest + " needed");
        }
    }

    @Test
    void uniformLengthsPackAlmostFull() {
        // lengths uniform in 1..512, seq_len 512: best-fit decreasing wastes well under 1% (measured 0.14%)
        TokenRows rows = Lengths.random(20000, 512, 7);
        Packs packs = Packer.pack(rows, EpochOrder.of(rows.size(), true, 7, 0), 512);
        long tokens = 0;
        for (int p = 0; p < packs.count(); p++) tokens += packs.tokens(p);
        double waste = 1 - (double) tokens / ((long) packs.count() * 512);
        System.out.printf("best-fit decreasing, 20000 rows of 1..512 tokens into 512: %d packs, %.4f%% of their room empty%n", packs.count(), 100 * waste);
        assertTrue(waste < 0.01, "waste " + waste);
    }

    @Test
    void theNumberOfPacksIsTheSameForEveryOrderButThePacksDiffer() {
        TokenRows rows = Lengths.random(2000, 100, 3);
        Packs first = Packer.pack(rows, EpochOrder.of(rows.size(), true, 42, 0), 128);
        int[] sizes = packTokens(first);
        for (int epoch = 1; epoch < 6; epoch++) {
            Packs other = Packer.pack(rows, EpochOrder.of(rows.size(), true, 42, epoch), 128);
            assertEquals(first.count(), other.count(), "packs of epoch " + epoch);
            assertArrayEquals(sizes, packTokens(other), "pack lengths of epoch " + epoch);
            assertNotEquals(members(first), members(other), "epoch " + epoch + " should pair rows differently");
        }
    }

    @Test
    void theSameOrderGivesTheSamePacks() {
        TokenRows rows = Lengths.random(500, 50, 9);
        int[] order = EpochOrder.of(rows.size(), true, 1, 2);
        assertEquals(members(Packer.pack(rows, order, 64)), members(Packer.pack(rows, order.clone(), 64)));
    }

    @Test
    void aRowLongerThanSeqLenIsRefused() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> Packer.pack(Lengths.of(3, 9), new int[] {0, 1}, 8));
        assertEquals("row 1 has 9 tokens; packing needs rows of 1..8 (data.seq_len) tokens", e.getMessage());
    }

    @Test
    void noRowsNoPacks() {
        assertEquals(0, Packer.pack(Lengths.of(), new int[0], 8).count());
    }

    private static int[] packTokens(Packs packs) {
        int[] t = new int[packs.count()];
        for (int p = 0; p < t.length; p++) t[p] = packs.tokens(p);
        Arrays.sort(t);
        return t;
    }

    private static List<List<Integer>> members(Packs packs) {
        List<List<Integer>> all = new ArrayList<>();
        for (int p = 0; p < packs.count(); p++) all.add(Arrays.stream(packs.rows(p)).boxed().toList());
        return all;
    }
}
