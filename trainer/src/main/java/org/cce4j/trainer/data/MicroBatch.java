package org.cce4j.trainer.data;

import org.cce4j.transformer.model.Batch;

/**
 * One forward/backward pass of a step: the padded batch, the rows it holds (indices into the rows
 * file; unpacked, batch row b = rows[b]; packed, the rows of its packed sequences one after the
 * other), and its target count (the tokens its CE sum runs over).
 */
public record MicroBatch(Batch batch, int[] rows, long targets) {

    /** Its pad tokens (keyMask false) over its B × T tokens. */
    public Padding padding() {
        boolean[] mask = batch.keyMask();
        long pad = 0;
        if (mask != null) {
            for (boolean real : mask) if (!real) pad++;
        }
        return new Padding(pad, batch.tokens());
    }
}
