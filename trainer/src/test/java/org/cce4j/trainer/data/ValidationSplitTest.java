package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * data.validation_fraction's choice: round(f × D) whole documents (the pieces of a split row stay
 * together), the first ones of the seeded shuffle, disjoint from the training rows and with them all
 * the rows, both in file order; the same for the same seed, another for another seed.
 */
class ValidationSplitTest {
    /** 100 rows, row i of i+2 tokens; rows 10..12 are one document, and rows 50..51. */
    private static final int ROWS = 100;
    private static final Documents DOCS = new Documents.Builder().add(10, 3).add(50, 2).build();

    private static TokenRows rows() {
        InMemoryTokenRows.Builder b = new InMemoryTokenRows.Builder();
        for (int i = 0; i < ROWS; i++) {
            int[] ids = new int[i + 2];
            Arrays.fill(ids, i);
            b.add(ids, null);
        }
        return b.build();
    }

    private static int[] indices(RowSubset s) {
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.baseIndex(i);
            assertEquals(out[i], s.row(i).inputIds()[0], "row " + i + " of the view is base row " + out[i]);
        }
        return out;
    }

    @Test
    void wholeDocumentsAreHeldBackDeterministicallyAndDisjointly() {
        TokenRows rows = rows();
        assertEquals(97, DOCS.starts(ROWS).length - 1, "100 rows, one document of 3 and one of 2: 97 documents");
        ValidationSplit a = ValidationSplit.of(rows, DOCS, 0.2, 7), b = ValidationSplit.of(rows, DOCS, 0.2, 7);
        assertEquals(19, a.held(), "round(0.2 × 97)");
        assertArrayEquals(indices(a.validation()), indices(b.validation()), "the same seed holds back the same rows");
        assertArrayEquals(indices(a.train()), indices(b.train()));

        // the expected rows, from the documents listed by hand and the seeded shuffle of the 97 documents
        List<int[]> docs = new ArrayList<>();
        for (int r = 0; r < ROWS; ) {
            int n = r == 10 ? 3 : r == 50 ? 2 : 1;
            int[] d = new int[n];
            for (int k = 0; k < n; k++) d[k] = r + k;
            docs.add(d);
            r += n;
        }
        int[] order = EpochOrder.of(docs.size(), true, 7 ^ ValidationSplit.SALT, 0);
        TreeSet<Integer> expected = new TreeSet<>();
        for (int i = 0; i < 19; i++) for (int r : docs.get(order[i])) expected.add(r);
        assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), indices(a.validation()));

        TreeSet<Integer> all = new TreeSet<>();
        for (int r : indices(a.train())) assertTrue(all.add(r));
        for (int r : indices(a.validation())) assertTrue(all.add(r), "row " + r + " is in both sets");
        assertEquals(ROWS, all.size());
        int[] t = indices(a.train()), v = indices(a.validation());
        for (int i = 1; i < t.length; i++) assertTrue(t[i] > t[i - 1], "file order");
        for (int i = 1; i < v.length; i++) assertTrue(v[i] > v[i - 1], "file order");
        for (int[] group : new int[][] {{10, 11, 12}, {50, 51}}) {
            boolean held = expected.contains(group[0]);
            for (int r : group) assertEquals(held, expected.contains(r), "document " + Arrays.toString(group) + " is held back whole or not at all");
        }
        assertFalse(Arrays.equals(v, indices(ValidationSplit.of(rows, DOCS, 0.2, 8).validation())), "another seed, other rows");
        assertEquals(rows.length(v[0]), a.validation().length(0));
    }

    @Test
    void atLeastOneDocumentIsHeldBackAndOneIsKept() {
        TokenRows rows = rows();
        assertEquals(1, ValidationSplit.of(rows, Documents.NONE, 0.001, 1).held());
        assertEquals(99, ValidationSplit.of(rows, Documents.NONE, 0.999, 1).held());
        InMemoryTokenRows one = new InMemoryTokenRows.Builder().add(new int[] {1, 2}, null).build();
        assertEquals("data.validation_fraction 0.1: the training data has 1 document, too few to hold any back (give data.validation instead)",
                assertThrows(InvalidInputException.class, () -> ValidationSplit.of(one, Documents.NONE, 0.1, 1)).getMessage());
    }

    @Test
    void documentsRoundTripThroughTheirEncoding() {
        assertEquals(DOCS, Documents.decode(DOCS.encode()));
        assertEquals(Documents.NONE, Documents.decode(""));
        assertArrayEquals(new int[] {0, 1, 2, 3}, Documents.NONE.starts(3));
        assertArrayEquals(new int[] {0, 2, 3}, new Documents.Builder().add(0, 2).build().starts(3));
    }
}
