package org.cce4j.trainer.metrics;

import org.cce4j.checkpoints.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

/**
 * A line chart of named {@link Series} rendered to PNG with XChart: what loss.png is made of
 * ({@link LossPlot}) and what a comparison of runs reuses (one series per run, a band over seeds).
 * Bands are drawn first, then the series in the order given, so the order decides what lies on top;
 * the legend sits below the plot so it never hides a curve. Rendering needs no display: the class
 * sets {@code java.awt.headless=true} before AWT starts unless the property was set already.
 * The file is written atomically (temporary file, fsync, rename), so a reader never sees half a PNG.
 */
public final class LinePlot {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    public static final int DEFAULT_WIDTH = 1000;
    public static final int DEFAULT_HEIGHT = 600;

    /** Colours for series without one, by position (matplotlib's tab10, which readers of loss curves know). */
    public static final List<Color> PALETTE = List.of(
            new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
            new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf));

    private static final float THIN_WIDTH = 1.0f;
    private static final float LINE_WIDTH = 2.5f;
    private static final int MARKER_SIZE = 7;
    private static final int BAND_ALPHA = 60;
    private static final String TICK_ANCHOR = "\u0000tick anchor";

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final int width;
    private final int height;
    private final List<Series> series;
    private final Double xMin;

    public LinePlot(String title, String xLabel, String yLabel, int width, int height, List<Series> series) {
        this(title, xLabel, yLabel, width, height, series, null);
    }

    private LinePlot(String title, String xLabel, String yLabel, int width, int height, List<Series> series, Double xMin) {
        if (width < 100 || height < 100) throw new IllegalArgumentException("plot size " + width + "x" + height + " is too small (at least 100x100)");
        var names = new HashSet<String>();
        for (Series s : series) {
            if (!names.add(s.name())) throw new IllegalArgumentException("two series named '" + s.name() + "'");
        }
        for (Series s : series) {
            if (s.band() != null && !names.add(bandName(s))) throw new IllegalArgumentException("a series is named '" + bandName(s) + "', the name of a band");
        }
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.width = width;
        this.height = height;
        this.series = List.copyOf(series);
        this.xMin = xMin;
    }

    public LinePlot(String title, String xLabel, String yLabel, List<Series> series) {
        this(title, xLabel, yLabel, DEFAULT_WIDTH, DEFAULT_HEIGHT, series);
    }

    /** The same plot with the x axis starting at {@code min} (steps from 0: round tick labels). */
    public LinePlot withXMin(double min) {
        return new LinePlot(title, xLabel, yLabel, width, height, series, min);
    }

    /** The colour a series is drawn in: its own, else the palette's at its position. */
    public Color colorOf(int index) {
        Color c = series.get(index).color();
        return c != null ? c : PALETTE.get(index % PALETTE.size());
    }

    /** The light version of a colour that {@link Series.Style#THIN} lines use: 55% of the way to white. */
    public static Color light(Color c) {
        return new Color(towardWhite(c.getRed()), towardWhite(c.getGreen()), towardWhite(c.getBlue()));
    }

    private static int towardWhite(int v) {
        return (int) Math.round(v + 0.55 * (255 - v));
    }

    public BufferedImage render() {
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        XYStyler st = chart.getStyler();
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setPlotGridLinesColor(new Color(0xe0e0e0));
        st.setLegendBorderColor(Color.WHITE);
        st.setMarkerSize(MARKER_SIZE);
        if (xMin != null) st.setXAxisMin(xMin);
        addTickAnchor(chart);
        boolean any = false;
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            if (s.band() != null) any |= addBand(chart, s, colorOf(i));
        }
        for (int i = 0; i < series.size(); i++) any |= addSeries(chart, series.get(i), colorOf(i));
        if (!any) {
            // XChart needs a series to lay out axes; an invisible point keeps an empty plot a plain, valid picture
            XYSeries empty = chart.addSeries(" ", new double[] {0}, new double[] {0});
            empty.setMarker(SeriesMarkers.NONE);
            empty.setLineStyle(SeriesLines.NONE);
            empty.setShowInLegend(false);
        }
        return BitmapEncoder.getBufferedImage(chart);
    }

    public byte[] png() throws IOException {
        BufferedImage image = render();
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        var bytes = new ByteArrayOutputStream();
        try (var out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(image);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }

    /** Renders and writes the PNG atomically. */
    public void write(Path png) throws IOException {
        AtomicFiles.writeBytes(png, png());
    }

    private static boolean addSeries(XYChart chart, Series s, Color color) {
        int n = 0;
        double[] x = new double[s.size()];
        double[] y = new double[s.size()];
        for (int i = 0; i < s.size(); i++) {
            if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
                x[n] = s.x()[i];
                y[n] = s.y()[i];
                n++;
            }
        }
        if (n == 0) return false;
        XYSeries xy = chart.addSeries(s.name(), Arrays.copyOf(x, n), Arrays.copyOf(y, n));
        switch (s.style()) {
            case THIN -> {
                xy.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
                xy.setMarker(SeriesMarkers.NONE);
                xy.setLineColor(light(color));
                xy.setLineWidth(THIN_WIDTH);
            }
            case LINE -> {
                xy.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
                xy.setMarker(SeriesMarkers.NONE);
                xy.setLineColor(color);
                xy.setLineWidth(LINE_WIDTH);
            }
            case MARKERS -> {
                xy.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
                xy.setMarker(SeriesMarkers.CIRCLE);
                xy.setMarkerColor(color);
            }
        }
        return true;
    }

    /**
     * XChart puts the x ticks on data values when the x values, in the order the series add them, are
     * equally spaced (steps 1, 2, 3, … get ticks at 1, 14, 27, …). An invisible first series holding the
     * largest and then the smallest x breaks that order, so the ticks fall on round numbers instead.
     */
    private void addTickAnchor(XYChart chart) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY, yAtLo = Double.NaN;
        for (Series s : series) {
            for (int i = 0; i < s.size(); i++) {
                double x = s.x()[i];
                if (!Double.isFinite(x) || !Double.isFinite(s.y()[i])) continue;
                if (x < lo) {
                    lo = x;
                    yAtLo = s.y()[i];
                }
                hi = Math.max(hi, x);
            }
        }
        if (!(lo < hi)) return;
        XYSeries anchor = chart.addSeries(TICK_ANCHOR, new double[] {hi, lo}, new double[] {yAtLo, yAtLo});
        anchor.setMarker(SeriesMarkers.NONE);
        anchor.setLineStyle(SeriesLines.NONE);
        anchor.setShowInLegend(false);
    }

    private static String bandName(Series s) {
        return s.name() + " (band)";
    }

    /** The band as one closed polygon: along the upper edge, back along the lower one. */
    private static boolean addBand(XYChart chart, Series s, Color color) {
        double[] low = s.band().low();
        double[] high = s.band().high();
        var keep = new ArrayList<Integer>();
        for (int i = 0; i < s.size(); i++) {
            if (Double.isFinite(s.x()[i]) && Double.isFinite(low[i]) && Double.isFinite(high[i])) keep.add(i);
        }
        if (keep.isEmpty()) return false;
        int n = keep.size();
        double[] px = new double[2 * n];
        double[] py = new double[2 * n];
        for (int k = 0; k < n; k++) {
            int i = keep.get(k);
            px[k] = s.x()[i];
            py[k] = high[i];
            px[2 * n - 1 - k] = s.x()[i];
            py[2 * n - 1 - k] = low[i];
        }
        XYSeries band = chart.addSeries(bandName(s), px, py);
        band.setXYSeriesRenderStyle(XYSeriesRenderStyle.PolygonArea);
        band.setMarker(SeriesMarkers.NONE);
        band.setLineStyle(SeriesLines.NONE);
        band.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), BAND_ALPHA));
        band.setShowInLegend(false);
        return true;
    }
}
