package org.cce4j.trainer.data.packing;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.TokenRows;

import java.util.Arrays;
import java.util.BitSet;

/**
 * Packs rows into sequences of at most seq_len tokens by best-fit decreasing, exactly as follows, so
 * that the packs of an epoch are a function of (the rows' lengths, the epoch's order) alone:
 * <ol>
 *   <li>sort the epoch's order by length, longest first, ties kept in the order's order (stable);</li>
 *   <li>put each row, in that order, into the open pack with the least room that still fits it; among
 *       packs with that same room, the one that reached it last; when none fits, open a new pack;</li>
 *   <li>list the packs by their earliest row in the epoch's order (so that without shuffling the packs
 *       follow the file roughly); a pack's rows stay in the order they were put in.</li>
 * </ol>
 * Why best-fit decreasing: it has first-fit decreasing's guarantee (at most 11/9 of the fewest packs
 * possible, plus one) and in practice fills as well or better, and with the room of a pack bounded by
 * seq_len it runs with a bucket per room and a bit set of non-empty buckets — O(n · seq_len / 64) at worst,
 * no search tree — in five int arrays of the rows' count.
 * <p>
 * The number of packs does not depend on the order: rows of equal length are interchangeable in
 * steps 1–2 (every choice there depends only on lengths and on rooms), so two orders give packs of the
 * same lengths, that differ only in which of the equal-length rows each holds. A shuffled run therefore
 * has the same number of packs, hence of steps, in every epoch, while each epoch pairs rows differently.
 */
public final class Packer {
    private Packer() {}

    /**
     * The packs of {@code order} (row indices of {@code rows}, each at most once).
     *
     * @throws InvalidInputException when a row is longer than {@code seqLen} (the reader truncates or
     *                               splits rows to seq_len before packing)
     */
    public static Packs pack(TokenRows rows, int[] order, int seqLen) {
        if (seqLen < 1) throw new IllegalArgumentException("seq_len must be >= 1, got " + seqLen);
        int n = order.length;
        int[] length = new int[n];           // by position in the order
        int[] count = new int[seqLen + 2];
        for (int i = 0; i < n; i++) {
            int len = rows.length(order[i]);
            if (len < 1 || len > seqLen) {
                throw new InvalidInputException("row " + order[i] + " has " + len + " tokens; packing needs rows of 1.." + seqLen
                        + " (data.seq_len) tokens");
            }
            length[i] = len;
            count[seqLen - len + 1]++;
        }
        // 1. stable counting sort, longest first: sorted[k] = a position in the order
        for (int c = 1; c < count.length; c++) count[c] += count[c - 1];
        int[] sorted = new int[n];
        for (int i = 0; i < n; i++) sorted[count[seqLen - length[i]]++] = i;

        // 2. best fit: packs by room, each room a stack (head[room], next[pack]); nonEmpty marks rooms with a pack
        int[] head = new int[seqLen + 1];
        Arrays.fill(head, -1);
        BitSet nonEmpty = new BitSet(seqLen + 1);
        int[] next = new int[Math.max(1, n)], room = new int[Math.max(1, n)];
        int[] packOf = length;               // reused: length[i] is read before packOf[i] is written
        int packs = 0;
        for (int k = 0; k < n; k++) {
            int i = sorted[k], len = length[i];
            int r = nonEmpty.nextSetBit(len);
            int p;
            if (r < 0) {
                p = packs++;
                room[p] = seqLen - len;
            } else {
                p = head[r];
                head[r] = next[p];
                if (head[r] < 0) nonEmpty.clear(r);
                room[p] = r - len;
            }
            packOf[i] = p;
            if (room[p] > 0) {
                next[p] = head[room[p]];
                head[room[p]] = p;
                nonEmpty.set(room[p]);
            }
        }

        // 3. packs listed by their earliest row in the order; rows within a pack in placement order
        int[] listed = next;                 // reused: listed[p] = pack p's place in the list
        Arrays.fill(listed, 0, packs, -1);
        int placed = 0;
        for (int i = 0; i < n; i++) if (listed[packOf[i]] < 0) listed[packOf[i]] = placed++;
        int[] start = new int[packs + 1], tokens = new int[packs];
        for (int p = 0; p < packs; p++) tokens[listed[p]] = seqLen - room[p];
        for (int i = 0; i < n; i++) start[listed[packOf[i]] + 1]++;
        for (int q = 0; q < packs; q++) start[q + 1] += start[q];
        int[] fill = Arrays.copyOf(start, packs); // the next free slot of each listed pack
        int[] members = new int[n];
        for (int k = 0; k < n; k++) {
            int i = sorted[k];
            members[fill[listed[packOf[i]]]++] = order[i];
        }
        return new Packs(members, start, tokens);
    }
}
