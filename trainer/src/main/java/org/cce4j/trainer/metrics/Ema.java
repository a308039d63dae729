package org.cce4j.trainer.metrics;

/**
 * The exponential moving average that smooths the loss on the progress display (decay
 * {@link #DEFAULT_DECAY}) and in loss.png (a window that grows with the run, see {@link LossPlot}):
 * {@code s_1 = x_1}, {@code s_t = decay * s_(t-1) + (1 - decay) * x_t}. It starts from the first value
 * seen rather than from zero, so it needs no bias correction and no state across a resume (a resumed
 * run's display simply starts from its first step's loss). With {@link #DEFAULT_DECAY} = 0.9 a value's
 * weight halves about every 6.6 steps (an effective window of about 10 steps).
 */
public final class Ema {
    public static final double DEFAULT_DECAY = 0.9;

    private final double decay;
    private double value = Double.NaN;
    private boolean started;

    public Ema(double decay) {
        if (!(decay >= 0 && decay < 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1), got " + decay);
        this.decay = decay;
    }

    public Ema() {
        this(DEFAULT_DECAY);
    }

    /** Adds a value and returns the new average (a NaN makes the average NaN from then on). */
    public double add(double x) {
        value = started ? decay * value + (1 - decay) * x : x;
        started = true;
        return value;
    }

    /** The average so far; NaN before the first value. */
    public double value() {
        return value;
    }

    public double decay() {
        return decay;
    }

    /** The running average of each prefix of {@code xs}. */
    public static double[] smooth(double[] xs, double decay) {
        Ema ema = new Ema(decay);
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = ema.add(xs[i]);
        return out;
    }
}
