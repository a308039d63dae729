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
        int[] order = plan.order(epoch);
        int mbs = plan.microBatchSize(), perStep = plan.rowsPerStep();
        Padding p = Padding.NONE;
        for (int start = 0; start < order.length; start += perStep) {
            int stepEnd = Math.min(order.length, start + perStep);
            for (int m = start; m < stepEnd; m += mbs) {
                int end = Math.min(stepEnd, m + mbs), longest = 0;
                long real = 0;
                for (int i = m; i < end; i++) {
                    int len = rows.length(order[i]);
                    longest = Math.max(longest, len);
                    real += len;
                }
                p = p.plus(Padding.ofMicroBatch(end - m, longest, real));
            }
        }
        return p;
    }
}
