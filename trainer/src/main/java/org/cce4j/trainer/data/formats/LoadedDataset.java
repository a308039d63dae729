package org.cce4j.trainer.data.formats;

import org.cce4j.trainer.data.Documents;
import org.cce4j.trainer.data.TokenRows;

/**
 * The token rows of a dataset and what reading it did. Rows read from the token cache are mapped:
 * closing unmaps them (rows read into memory have nothing to close).
 *
 * @param documents which consecutive rows came from one document (the pieces of split rows)
 * @param resource  what holds the rows (the mapped token file), or null
 */
public record LoadedDataset(TokenRows rows, FormatReport report, Documents documents, AutoCloseable resource) implements AutoCloseable {
    public LoadedDataset(TokenRows rows, FormatReport report) {
        this(rows, report, Documents.NONE, null);
    }

    public LoadedDataset(TokenRows rows, FormatReport report, Documents documents) {
        this(rows, report, documents, null);
    }

    @Override
    public void close() {
        if (resource != null) {
            try {
                resource.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + resource, e);
            }
        }
    }
}
