package org.cce4j.trainer.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every row on the heap, one {@code int[]} of ids per row, and labels stored only when they differ
 * from the ids (most rows of plain language modelling have none of their own): about 4 bytes a token.
 */
public final class InMemoryTokenRows implements TokenRows {
    private final List<TokenRow> rows;

    private InMemoryTokenRows(List<TokenRow> rows) {
        this.rows = rows;
    }

    @Override
    public int size() {
        return rows.size();
    }

    @Override
    public TokenRow row(int i) {
        return rows.get(i);
    }

    /** Collects rows in order; the arrays given are kept, not copied. */
    public static final class Builder {
        private final List<TokenRow> rows = new ArrayList<>();

        /** Adds a row; {@code labels} null or equal to {@code inputIds} is stored as the ids themselves. */
        public Builder add(int[] inputIds, int[] labels) {
            if (labels != null && labels.length != inputIds.length) {
                throw new IllegalArgumentException("labels must have as many entries as input_ids");
            }
            int[] l = labels == null || Arrays.equals(labels, inputIds) ? inputIds : labels;
            rows.add(new TokenRow(inputIds, l, TokenRow.countTargets(l)));
            return this;
        }

        public InMemoryTokenRows build() {
            return new InMemoryTokenRows(List.copyOf(rows));
        }
    }
}
