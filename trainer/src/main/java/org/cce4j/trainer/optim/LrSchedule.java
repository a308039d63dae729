package org.cce4j.trainer.optim;

import org.cce4j.trainer.config.TrainConfig.Schedule;

/**
 * The learning rate of each optimizer step, as transformers' {@code get_constant_schedule_with_warmup},
 * {@code get_linear_schedule_with_warmup} and {@code get_cosine_schedule_with_warmup} (half a cycle)
 * compute it: a factor of the peak rate, linear warmup from 0 over W steps, then
 * <pre>
 *   constant   1
 *   linear     max(0, (T − s) / max(1, T − W))
 *   cosine     max(0, ½·(1 + cos(π · (s − W) / max(1, T − W))))
 * </pre>
 * where s is the number of steps already taken: optimizer step n (1-based) uses s = n − 1, so the
 * first step of a warmup runs at rate 0, as in transformers.
 */
public record LrSchedule(Schedule kind, double peak, long warmupSteps, long totalSteps) {

    /** Warmup steps from the config: warmup_steps when > 0, else ceil(warmup_ratio × total), as transformers' Trainer. */
    public static long warmup(int warmupSteps, double warmupRatio, long totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (long) Math.ceil(warmupRatio * totalSteps);
    }

    /** The rate optimizer step {@code step} (1-based) uses. */
    public double rateOfStep(long step) {
        return peak * factor(step - 1);
    }

    /** The schedule's factor after {@code s} steps. */
    public double factor(long s) {
        if (s < warmupSteps) return (double) s / Math.max(1, warmupSteps);
        return switch (kind) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
        };
    }
}
