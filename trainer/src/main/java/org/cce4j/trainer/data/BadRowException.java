package org.cce4j.trainer.data;

/**
 * A row that cannot be trained on: its {@link BadRow} kind and what is wrong, without the file and
 * line (the reader that knows them adds {@code file:line: } in front). Readers of every data format
 * throw it, and {@link RowCollector} turns it into the user's error or a skip count. A checked
 * exception without a stack trace: bad rows are expected input, and with skip_bad_rows they are many.
 */
public final class BadRowException extends Exception {
    private final BadRow kind;

    public BadRowException(BadRow kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public BadRow kind() {
        return kind;
    }
}
