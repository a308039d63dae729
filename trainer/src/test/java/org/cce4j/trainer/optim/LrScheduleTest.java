package org.cce4j.trainer.optim;

import org.cce4j.trainer.config.TrainConfig.Schedule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The schedules against their closed forms, at the points where transformers' lambdas change
 * behaviour: the first step (rate 0 under warmup), the end of warmup, the middle and the last step.
 */
class LrScheduleTest {
    private static final double PEAK = 2e-4;

    @Test
    void warmupStartsAtZeroAndReachesThePeak() {
        LrSchedule s = new LrSchedule(Schedule.COSINE, PEAK, 4, 20);
        assertEquals(0.0, s.rateOfStep(1));
        assertEquals(PEAK * 1 / 4, s.rateOfStep(2), 1e-18);
        assertEquals(PEAK * 3 / 4, s.rateOfStep(4), 1e-18);
        assertEquals(PEAK, s.rateOfStep(5), 1e-18);
    }

    @Test
    void cosineFollowsHalfACycle() {
        LrSchedule s = new LrSchedule(Schedule.COSINE, PEAK, 4, 20);
        for (int step = 5; step <= 20; step++) {
            double progress = (step - 1 - 4) / 16.0;
            assertEquals(PEAK * 0.5 * (1 + Math.cos(Math.PI * progress)), s.rateOfStep(step), 1e-18, "step " + step);
        }
        assertEquals(PEAK * 0.5 * (1 + Math.cos(Math.PI * 8 / 16.0)), s.rateOfStep(13), 1e-18);
    }

    @Test
    void linearDecaysToZeroAtTheEnd() {
        LrSchedule s = new LrSchedule(Schedule.LINEAR, PEAK, 2, 10);
        assertEquals(PEAK, s.rateOfStep(3), 1e-18);
        assertEquals(PEAK * 7 / 8, s.rateOfStep(4), 1e-18);
        assertEquals(PEAK * 1 / 8, s.rateOfStep(10), 1e-18);
        assertEquals(0.0, s.factor(10));
        assertEquals(0.0, s.factor(12), "past the end: clamped at 0");
    }

    @Test
    void constantHoldsThePeakAfterWarmup() {
        LrSchedule s = new LrSchedule(Schedule.CONSTANT, PEAK, 0, 5);
        for (int step = 1; step <= 5; step++) assertEquals(PEAK, s.rateOfStep(step));
        LrSchedule w = new LrSchedule(Schedule.CONSTANT, PEAK, 3, 5);
        assertEquals(0.0, w.rateOfStep(1));
        assertEquals(PEAK * 2 / 3, w.rateOfStep(3), 1e-18);
        assertEquals(PEAK, w.rateOfStep(4));
    }

    @Test
    void warmupRatioRoundsUpAsTransformersTrainer() {
        assertEquals(3, LrSchedule.warmup(0, 0.2, 11));   // ceil(2.2)
        assertEquals(2, LrSchedule.warmup(0, 0.2, 10));
        assertEquals(5, LrSchedule.warmup(5, 0.2, 10), "warmup_steps wins when set");
        assertEquals(0, LrSchedule.warmup(0, 0.0, 10));
    }
}
