package org.cce4j.trainer.metrics;

import java.awt.Color;
import java.util.Arrays;
import java.util.Objects;

/**
 * One named series of a {@link LinePlot}: points (x, y), how they are drawn, an optional colour (null:
 * the plot's palette picks one by position) and an optional band drawn behind the line, for example
 * the minimum and maximum over seeds at each x. Points whose y (or band edge) is not finite are not
 * drawn. The arrays are copied in and must not be changed through the accessors.
 */
public record Series(String name, double[] x, double[] y, Style style, Color color, Band band) {

    /** How the points are drawn. */
    public enum Style {
        /** A thin line in a light version of the colour: raw values under their smoothed curve. */
        THIN,
        /** A bold line. */
        LINE,
        /** Markers only, no line: sparse values such as evaluations. */
        MARKERS
    }

    /** The band's lower and upper edge at each x, filled in a translucent version of the series colour. */
    public record Band(double[] low, double[] high) {
        public Band {
            low = low.clone();
            high = high.clone();
            if (low.length != high.length) {
                throw new IllegalArgumentException("band edges of different lengths: " + low.length + " and " + high.length);
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Band b && Arrays.equals(b.low, low) && Arrays.equals(b.high, high);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(low) + Arrays.hashCode(high);
        }
    }

    public Series {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("a series needs a name");
        if (style == null) throw new IllegalArgumentException("series '" + name + "' needs a style");
        x = x.clone();
        y = y.clone();
        if (x.length != y.length) {
            throw new IllegalArgumentException("series '" + name + "': " + x.length + " x values but " + y.length + " y values");
        }
        if (band != null && band.low().length != x.length) {
            throw new IllegalArgumentException("series '" + name + "': " + x.length + " points but a band of " + band.low().length);
        }
    }

    public static Series of(String name, double[] x, double[] y, Style style) {
        return new Series(name, x, y, style, null, null);
    }

    public Series withColor(Color c) {
        return new Series(name, x, y, style, c, band);
    }

    public Series withBand(double[] low, double[] high) {
        return new Series(name, x, y, style, color, new Band(low, high));
    }

    public int size() {
        return x.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Series s && s.name.equals(name) && Arrays.equals(s.x, x) && Arrays.equals(s.y, y)
                && s.style == style && Objects.equals(s.color, color) && Objects.equals(s.band, band);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(x), Arrays.hashCode(y), style, color, band);
    }

    @Override
    public String toString() {
        return "Series[" + name + ", " + style + ", " + x.length + " points" + (band != null ? ", with band" : "") + "]";
    }
}
