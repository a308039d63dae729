package org.cce4j.trainer.data;

/** Some rows of another store, by index, in the order given: a view (the rows stay where they are, mapped or on the heap). */
public final class RowSubset implements TokenRows {
    private final TokenRows base;
    private final int[] indices;

    public RowSubset(TokenRows base, int[] indices) {
        this.base = base;
        this.indices = indices;
    }

    @Override
    public int size() {
        return indices.length;
    }

    @Override
    public TokenRow row(int i) {
        return base.row(indices[i]);
    }

    @Override
    public int length(int i) {
        return base.length(indices[i]);
    }

    /** The index in the base store of row {@code i}. */
    public int baseIndex(int i) {
        return indices[i];
    }
}
