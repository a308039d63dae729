package org.cce4j.trainer.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;

/**
 * Which consecutive rows of a dataset came from one document: the pieces of a row that
 * {@code data.overflow = split} cut. Every other row is a document of its own, so only the split ones
 * are listed (first row, piece count), in row order; a validation split holds back whole documents
 * through {@link #starts}, so that no piece of a held-back document is trained on. Stored in a token
 * file's metadata as base64 of little-endian int32 pairs ({@link #encode}).
 */
public final class Documents {
    public static final Documents NONE = new Documents(new int[0], new int[0]);

    private final int[] first;
    private final int[] pieces;

    private Documents(int[] first, int[] pieces) {
        this.first = first;
        this.pieces = pieces;
    }

    /** Collects the split documents in row order. */
    public static final class Builder {
        private int[] first = new int[16], pieces = new int[16];
        private int n;

        /** Rows {@code [row, row + count)} are one document; a count of 1 is not recorded. */
        public Builder add(int row, int count) {
            if (count < 2) return this;
            if (n > 0 && row < first[n - 1] + pieces[n - 1]) throw new IllegalArgumentException("documents out of order at row " + row);
            if (n == first.length) {
                first = Arrays.copyOf(first, 2 * n);
                pieces = Arrays.copyOf(pieces, 2 * n);
            }
            first[n] = row;
            pieces[n++] = count;
            return this;
        }

        public Documents build() {
            return n == 0 ? NONE : new Documents(Arrays.copyOf(first, n), Arrays.copyOf(pieces, n));
        }
    }

    /** Documents of more than one row. */
    public int multiRow() {
        return first.length;
    }

    /** The first row of each of the documents of {@code rows} rows, then {@code rows}: document d is rows [starts[d], starts[d+1]). */
    public int[] starts(int rows) {
        long extra = 0;
        for (int p : pieces) extra += p - 1;
        int docs = (int) (rows - extra);
        int[] s = new int[docs + 1];
        int d = 0, k = 0;
        for (int r = 0; r < rows; d++) {
            s[d] = r;
            if (k < first.length && first[k] == r) r += pieces[k++];
            else r++;
        }
        if (d != docs || k != first.length) throw new IllegalStateException("documents do not fit " + rows + " rows");
        s[docs] = rows;
        return s;
    }

    public String encode() {
        ByteBuffer b = ByteBuffer.allocate(8 * first.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < first.length; i++) b.putInt(first[i]).putInt(pieces[i]);
        return Base64.getEncoder().encodeToString(b.array());
    }

    public static Documents decode(String s) {
        if (s == null || s.isEmpty()) return NONE;
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(s)).order(ByteOrder.LITTLE_ENDIAN);
        Builder out = new Builder();
        while (b.remaining() >= 8) out.add(b.getInt(), b.getInt());
        return out.build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Documents d && Arrays.equals(first, d.first) && Arrays.equals(pieces, d.pieces);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(first) + Arrays.hashCode(pieces);
    }
}
