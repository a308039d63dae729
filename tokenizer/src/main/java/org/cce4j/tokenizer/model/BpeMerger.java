package org.cce4j.tokenizer.model;

/**
 * Applies BPE merges to a word's symbols: repeatedly merge the adjacent pair of lowest rank,
 * leftmost first. The Rust library does this with a priority queue of candidate pairs, dropping
 * stale entries; the result is the same as this plain definition, which is used for short words
 * (a linear scan over a few ranks beats a heap). Long words (SentencePiece-style tokenizers without
 * a pre-tokenizer see whole paragraphs as one word) use the queue: a binary heap of
 * {@code rank << 32 | position} over a doubly linked list of symbols. When offsets are wanted, a
 * second array carries each symbol's length and is merged alongside (null otherwise, so that plain
 * encoding does no extra work).
 */
final class BpeMerger {
    private static final int HEAP_THRESHOLD = 48;

    private BpeMerger() {}

    /** Merges {@code ids[0..n)} in place and returns the new length. */
    static int merge(PairMap merges, int[] ids, int n) {
        return merge(merges, ids, null, n);
    }

    /** Merges {@code ids[0..n)} in place, summing the lengths of merged symbols in {@code lengths} unless it is null. */
    static int merge(PairMap merges, int[] ids, int[] lengths, int n) {
        if (n < 2) return n;
        return n <= HEAP_THRESHOLD ? mergeByScan(merges, ids, lengths, n) : mergeByHeap(merges, ids, lengths, n);
    }

    static int mergeByScan(PairMap merges, int[] ids, int[] lengths, int n) {
        int[] ranks = new int[n];
        for (int i = 0; i + 1 < n; i++) ranks[i] = merges.rank(ids[i], ids[i + 1]);
        while (n > 1) {
            int best = Integer.MAX_VALUE, at = -1;
            for (int i = 0; i + 1 < n; i++) {
                if (ranks[i] < best) {
                    best = ranks[i];
                    at = i;
                }
            }
            if (at < 0) break;
            ids[at] = merges.mergedAt(merges.find(ids[at], ids[at + 1]));
            System.arraycopy(ids, at + 2, ids, at + 1, n - at - 2);
            if (lengths != null) {
                lengths[at] += lengths[at + 1];
                System.arraycopy(lengths, at + 2, lengths, at + 1, n - at - 2);
            }
            System.arraycopy(ranks, at + 2, ranks, at + 1, n - at - 2);
            n--;
            if (at > 0) ranks[at - 1] = merges.rank(ids[at - 1], ids[at]);
            ranks[at] = at + 1 < n ? merges.rank(ids[at], ids[at + 1]) : Integer.MAX_VALUE;
        }
        return n;
    }

    static int mergeByHeap(PairMap merges, int[] ids, int[] lengths, int n) {
        int[] prev = new int[n], next = new int[n];
        boolean[] gone = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            int r = merges.rank(ids[i], ids[i + 1]);
            if (r != Integer.MAX_VALUE) heap.push(((long) r << 32) | i);
        }
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            if (gone[pos] || next[pos] < 0) continue;
            int right = next[pos];
            int slot = merges.find(ids[pos], ids[right]);
            if (slot < 0 || merges.rankAt(slot) != rank) continue;  // stale: one side has changed
            ids[pos] = merges.mergedAt(slot);
            if (lengths != null) lengths[pos] += lengths[right];
            gone[right] = true;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0) {
                int r = merges.rank(ids[prev[pos]], ids[pos]);
                if (r != Integer.MAX_VALUE) heap.push(((long) r << 32) | prev[pos]);
            }
            if (next[pos] >= 0) {
                int r = merges.rank(ids[pos], ids[next[pos]]);
                if (r != Integer.MAX_VALUE) heap.push(((long) r << 32) | pos);
            }
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (gone[i]) continue;
            if (lengths != null) lengths[m] = lengths[i];
            ids[m++] = ids[i];
        }
        return m;
    }

    /** A binary min-heap of longs. */
    static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(capacity, 4)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) a = java.util.Arrays.copyOf(a, size * 2);
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) break;
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long v = a[--size];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) break;
                if (c + 1 < size && a[c + 1] < a[c]) c++;
                if (a[c] >= v) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
