package org.cce4j.trainer.data;

import org.cce4j.checkpoints.state.TrainingState.DataPosition;

/**
 * What the training loop asks of its data, packed or not: how many steps the run has, each step's
 * micro-batches, and the data position after a step (what a checkpoint stores) and back. Unpacked,
 * an epoch's rows are cut into steps ({@link PaddedPlan} over {@link TrainingPlan}); packed, its packed
 * sequences are ({@code trainer.data.packing.PackedPlan}, which cuts them with a TrainingPlan too).
 * Everything is a function of the step number, so a run resumes from a {@link DataPosition} alone.
 */
public interface StepPlan {
    /** The cut of each epoch's units (rows, or packed sequences) into steps, which the step arithmetic below comes from. */
    TrainingPlan steps();

    /** The steps of the run: steps_per_epoch × epochs, capped by max_steps when > 0. */
    default long totalSteps() {
        return steps().totalSteps();
    }

    /** Optimizer steps in one epoch (the same for every epoch). */
    default int stepsPerEpoch() {
        return steps().stepsPerEpoch();
    }

    /** The epochs the run touches: fewer than train.epochs when max_steps ends it first. */
    default int epochsTouched() {
        return steps().epochsTouched();
    }

    /** Where the data stands once step {@code s} is done (s = 0: before the first step): (epoch, next unit's index). */
    default DataPosition positionAfter(long s) {
        return steps().positionAfter(s);
    }

    /** The step that starts at {@code position}; a position that is not a step boundary of this plan is a user error. */
    default long nextStep(DataPosition position) {
        return steps().nextStep(position);
    }

    /** Step {@code s}'s micro-batches (pad tokens {@code padTokenId}) and its target count. */
    StepBatches batches(long s, int padTokenId);

    /** The padding of epoch {@code epoch}'s micro-batches (all of its steps, also those max_steps cuts off). */
    Padding padding(int epoch);
}
