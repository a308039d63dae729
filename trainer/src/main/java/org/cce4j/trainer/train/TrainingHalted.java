package org.cce4j.trainer.train;

/**
 * The run stopped itself: a non-finite loss or gradient at a step. The message is one line naming the
 * step (and with --verbose the first non-finite tensor); the last checkpoint is untouched.
 */
public final class TrainingHalted extends RuntimeException {
    private final long step;

    public TrainingHalted(long step, String message) {
        super(message);
        this.step = step;
    }

    public long step() {
        return step;
    }
}
