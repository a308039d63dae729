package org.cce4j.trainer.data.formats;

import org.cce4j.trainer.data.TokenRows;

/** The token rows of a dataset and what reading it did. */
public record LoadedDataset(TokenRows rows, FormatReport report) {}
