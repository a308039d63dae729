package org.cce4j.trainer.data;

import org.cce4j.core.InvalidInputException;

/**
 * How a rows file is read and checked.
 *
 * @param vocabSize   ids and labels (other than -100) must lie in [0, vocabSize): the model's vocabulary
 * @param seqLen      the longest row kept; longer ones are handled by {@code overflow}
 * @param overflow    truncate or refuse rows longer than seqLen
 * @param skipBadRows skip and count bad rows instead of stopping at the first
 */
public record RowOptions(int vocabSize, int seqLen, Overflow overflow, boolean skipBadRows) {
    public RowOptions {
        if (vocabSize < 1) throw new InvalidInputException("the vocabulary size must be >= 1, got " + vocabSize);
        if (seqLen < 2) throw new InvalidInputException("data.seq_len must be >= 2 (a row needs a target after its first token), got " + seqLen);
        if (overflow == null) throw new IllegalArgumentException("overflow is required");
    }
}
