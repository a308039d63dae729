package org.cce4j.trainer.metrics;

import org.junit.jupiter.api.Test;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The general plot: bands, palette colours, empty plots, sizes and name checks. */
class LinePlotTest {
    static final double[] X = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    static double[] plus(double[] y, double d) {
        double[] out = y.clone();
        for (int i = 0; i < out.length; i++) out[i] += d;
        return out;
    }

    @Test
    void aBandIsFilledInTheSeriesColourAtLowOpacity() {
        double[] y = new double[X.length];
        for (int i = 0; i < y.length; i++) y[i] = 5 - 0.3 * i;
        Series withBand = Series.of("seeds", X, y, Series.Style.LINE).withBand(plus(y, -1), plus(y, 1));
        BufferedImage image = new LinePlot("compare", "step", "loss", 600, 400, List.of(withBand)).render();
        assertEquals(600, image.getWidth());
        assertEquals(400, image.getHeight());
        // palette's first colour at alpha 60/255 over white
        Color c = LinePlot.PALETTE.get(0);
        Color blended = new Color(over(c.getRed()), over(c.getGreen()), over(c.getBlue()));
        int band = LossPlotTest.countNear(image, blended, 2);
        assertTrue(band > 0.1 * 600 * 400 * 0.5, "band pixels: " + band);

        BufferedImage noBand = new LinePlot("compare", "step", "loss", 600, 400, List.of(Series.of("seeds", X, y, Series.Style.LINE))).render();
        assertTrue(LossPlotTest.countNear(noBand, blended, 2) < 50);
    }

    static int over(int channel) {
        double a = 60 / 255.0;
        return (int) Math.round(channel * a + 255 * (1 - a));
    }

    @Test
    void seriesWithoutAColourTakeThePalettesInOrder() {
        var a = Series.of("a", X, plus(X, 0), Series.Style.LINE);
        var b = Series.of("b", X, plus(X, 5), Series.Style.LINE);
        var plot = new LinePlot("t", "x", "y", List.of(a, b.withColor(Color.MAGENTA)));
        assertEquals(LinePlot.PALETTE.get(0), plot.colorOf(0));
        assertEquals(Color.MAGENTA, plot.colorOf(1));
        BufferedImage image = plot.render();
        assertTrue(LossPlotTest.Pixels.of(image, Color.MAGENTA).count() > 500);
        assertTrue(LossPlotTest.Pixels.of(image, LinePlot.PALETTE.get(0)).count() > 500);
    }

    @Test
    void anEmptyOrNonFinitePlotStillRenders() {
        var nan = Series.of("nan", new double[] {1, 2}, new double[] {Double.NaN, Double.POSITIVE_INFINITY}, Series.Style.LINE);
        BufferedImage image = new LinePlot("empty", "step", "loss", List.of(nan, Series.of("none", new double[0], new double[0], Series.Style.MARKERS))).render();
        assertEquals(LinePlot.DEFAULT_WIDTH, image.getWidth());
        assertEquals(0, LossPlotTest.Pixels.of(image, LinePlot.PALETTE.get(0)).count());
    }

    @Test
    void refusesMismatchedLengthsAndDuplicateNames() {
        assertThrows(IllegalArgumentException.class, () -> Series.of("a", X, new double[3], Series.Style.LINE));
        assertThrows(IllegalArgumentException.class, () -> Series.of("a", X, X, Series.Style.LINE).withBand(new double[2], new double[2]));
        var a = Series.of("a", X, X, Series.Style.LINE);
        assertThrows(IllegalArgumentException.class, () -> new LinePlot("t", "x", "y", List.of(a, a)));
    }
}
