package org.cce4j.trainer.data;

/** Constants of the rows format shared by the reader and the batches (PyTorch's and transformers' values). */
final class Rows {
    /** A label the loss ignores (torch.nn.CrossEntropyLoss's default ignore_index). */
    static final int IGNORE_INDEX = -100;

    private Rows() {}
}
