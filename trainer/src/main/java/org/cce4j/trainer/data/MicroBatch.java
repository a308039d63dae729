package org.cce4j.trainer.data;

import org.cce4j.transformer.model.Batch;

/**
 * One forward/backward pass of a step: the padded batch, the rows it holds (indices into the rows
 * file, batch row b = rows[b]), and its target count (the tokens its CE sum runs over).
 */
public record MicroBatch(Batch batch, int[] rows, long targets) {}
