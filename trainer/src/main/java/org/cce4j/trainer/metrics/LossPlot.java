package org.cce4j.trainer.metrics;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The run folder's loss.png: training loss per step as a thin light line, its exponential moving
 * average ({@link Ema}) as a bold line in the same colour, evaluation loss as markers; x = step,
 * y = loss, titled with the run's name. The average's window grows with the run so that the bold line
 * stays a line at any length: {@code window = max(10, steps / 100)}, {@code decay = 1 - 1 / window}
 * (0.9, as on the progress display, up to 1,099 steps; 0.998 at 50,000). It is drawn from
 * metrics.jsonl's records alone, so a resumed run's plot is the plot of an uninterrupted one. A step
 * whose loss is null (non-finite) is left out of both lines, and the average goes on over the finite ones.
 */
public final class LossPlot {
    public static final Color TRAIN_COLOR = LinePlot.PALETTE.get(0);
    public static final Color EVAL_COLOR = LinePlot.PALETTE.get(1);

    private LossPlot() {}

    /** The three series of loss.png (empty ones included: the plot skips them). */
    public static List<Series> series(List<MetricsRecord> records) {
        var trainX = new ArrayList<Double>();
        var trainY = new ArrayList<Double>();
        var evalX = new ArrayList<Double>();
        var evalY = new ArrayList<Double>();
        for (MetricsRecord r : records) {
            if (!r.isEval() && r.has("loss")) {
                double loss = r.number("loss");
                if (Double.isFinite(loss)) {
                    trainX.add((double) r.step());
                    trainY.add(loss);
                }
            } else if (r.isEval() && r.has("eval_loss")) {
                evalX.add((double) r.step());
                evalY.add(r.number("eval_loss"));
            }
        }
        double[] x = unbox(trainX);
        double[] y = unbox(trainY);
        long window = smoothingWindow(y.length);
        return List.of(
                new Series("train loss", x, y, Series.Style.THIN, TRAIN_COLOR, null),
                new Series("train loss (EMA, window " + window + " steps)", x, Ema.smooth(y, 1 - 1.0 / window), Series.Style.LINE, TRAIN_COLOR, null),
                new Series("eval loss", unbox(evalX), unbox(evalY), Series.Style.MARKERS, EVAL_COLOR, null));
    }

    /** The EMA's window (1 / (1 - decay)) for a plot of {@code points} training steps. */
    public static long smoothingWindow(int points) {
        return Math.max(10, points / 100);
    }

    public static LinePlot plot(String title, List<MetricsRecord> records) {
        return new LinePlot(title, "step", "loss", series(records)).withXMin(0);
    }

    /** Draws loss.png from the records, atomically. */
    public static void write(Path png, String title, List<MetricsRecord> records) throws IOException {
        plot(title, records).write(png);
    }

    /** Draws loss.png from a metrics.jsonl file. */
    public static void write(Path png, String title, Path metricsJsonl) throws IOException {
        write(png, title, MetricsLog.read(metricsJsonl));
    }

    private static double[] unbox(List<Double> xs) {
        double[] out = new double[xs.size()];
        for (int i = 0; i < out.length; i++) out[i] = xs.get(i);
        return out;
    }
}
