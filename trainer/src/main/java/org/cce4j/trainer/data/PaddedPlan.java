package org.cce4j.trainer.data;


/**
 * The unpacked {@link StepPlan}: the {@link TrainingPlan}'s steps of rows, each micro-batch padded to its
 * longest row by {@link Batches}. Padding is counted from the rows' lengths alone.
 */
public record PaddedPlan(TrainingPlan plan, TokenRows rows) implements StepPlan {
    @Override
    public TrainingPlan steps() {
        return plan;
    }

    public PaddedPlan {
        if (plan.rows() != rows.size()) throw new IllegalArgumentException("the plan is of " + plan.rows() + " rows, the data has " + rows.size());
    }






    @Override
    public StepBatches batches(long s, int padTokenId) {
        return Batches.of(rows, plan.step(s), padTokenId);
    }

    @Override
    public Padding padding(int epoch) {
        return Padding.ofEpoch(plan.order(epoch), plan.rowsPerStep(), plan.microBatchSize(), rows::length);
    }
}
