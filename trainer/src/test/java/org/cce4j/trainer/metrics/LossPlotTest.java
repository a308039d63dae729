package org.cce4j.trainer.metrics;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** loss.png is a PNG of the stated size in which each series is drawn where its data says. */
class LossPlotTest {
    @TempDir
    Path dir;

    /** A decaying, noisy training loss with an evaluation every 50 steps. */
    static List<MetricsRecord> records(boolean withEval) {
        var records = new ArrayList<MetricsRecord>();
        for (int step = 1; step <= 300; step++) {
            double clean = 3 * Math.exp(-step / 80.0) + 0.5;
            records.add(MetricsRecord.builder(step).put("loss", clean + 0.15 * Math.sin(step * 1.7))
                    .put("grad_norm", 1.0).put("lr", 1e-4).build());
            if (withEval && step % 50 == 0) {
                records.add(MetricsRecord.builder(step).put("eval_loss", clean + 0.1).put("eval_ppl", Math.exp(clean + 0.1)).build());
            }
        }
        return records;
    }

    /** Where the pixels of exactly one colour are. */
    record Pixels(int count, int minX, int maxX, double meanYLeft, double meanYRight) {
        static Pixels of(BufferedImage image, Color color) {
            int rgb = color.getRGB() & 0xffffff;
            int count = 0, minX = Integer.MAX_VALUE, maxX = -1;
            for (int x = 0; x < image.getWidth(); x++) {
                for (int y = 0; y < image.getHeight(); y++) {
                    if ((image.getRGB(x, y) & 0xffffff) != rgb) continue;
                    count++;
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                }
            }
            return new Pixels(count, minX, maxX, meanY(image, rgb, minX, minX + 20), meanY(image, rgb, maxX - 20, maxX));
        }

        static double meanY(BufferedImage image, int rgb, int x0, int x1) {
            double sum = 0;
            int n = 0;
            for (int x = Math.max(0, x0); x <= Math.min(image.getWidth() - 1, x1); x++) {
                for (int y = 0; y < image.getHeight(); y++) {
                    if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                        sum += y;
                        n++;
                    }
                }
            }
            return n == 0 ? Double.NaN : sum / n;
        }
    }

    @Test
    void writesAPngWithTheEmaFallingAcrossThePlotAndEvaluationsAsMarkers() throws IOException {
        Path png = dir.resolve("loss.png");
        LossPlot.write(png, "run-1", records(true));

        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, java.util.Arrays.copyOf(bytes, 8));
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(LinePlot.DEFAULT_WIDTH, image.getWidth());
        assertEquals(LinePlot.DEFAULT_HEIGHT, image.getHeight());

        // the bold EMA line runs across most of the width, from high on the left to low on the right
        Pixels ema = Pixels.of(image, LossPlot.TRAIN_COLOR);
        assertTrue(ema.count() > 1000, "EMA pixels: " + ema);
        assertTrue(ema.maxX() - ema.minX() > 0.7 * image.getWidth(), "EMA extent: " + ema);
        assertTrue(ema.meanYLeft() < ema.meanYRight() - 0.4 * image.getHeight(), "EMA falls: " + ema);

        // six evaluation markers spread over the steps, also falling
        Pixels eval = Pixels.of(image, LossPlot.EVAL_COLOR);
        assertTrue(eval.count() > 6 * 20, "eval pixels: " + eval);
        assertTrue(eval.maxX() - eval.minX() > 0.6 * image.getWidth(), "eval extent: " + eval);

        // the raw loss is drawn in the light colour (anti-aliasing leaves fewer exact pixels: count near ones)
        assertTrue(countNear(image, LinePlot.light(LossPlot.TRAIN_COLOR), 12) > 300);

        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(png), files.toList(), "no temporary file is left");
        }
    }

    @Test
    void withoutEvaluationsThereIsNoEvaluationColour() throws IOException {
        Path png = dir.resolve("loss.png");
        LossPlot.write(png, "run-2", records(false));
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(0, Pixels.of(image, LossPlot.EVAL_COLOR).count());
        assertTrue(Pixels.of(image, LossPlot.TRAIN_COLOR).count() > 1000);
    }

    @Test
    void drawsFromAMetricsFileAndSkipsNullLosses() throws IOException {
        Path metrics = dir.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.create(metrics)) {
            for (MetricsRecord r : records(true)) log.append(r);
            log.append(MetricsRecord.builder(301).put("loss", Double.NaN).put("grad_norm", Double.NaN).build());
        }
        List<Series> series = LossPlot.series(MetricsLog.read(metrics));
        assertEquals(300, series.get(0).size());
        assertEquals(6, series.get(2).size());
        Path png = dir.resolve("loss.png");
        LossPlot.write(png, "run-3", metrics);
        assertEquals(LinePlot.DEFAULT_WIDTH, ImageIO.read(png.toFile()).getWidth());
    }

    @Test
    void theBoldLineIsTheEmaOfTheTrainingLossWithAWindowThatGrowsWithTheRun() {
        List<Series> series = LossPlot.series(records(true));
        Series raw = series.get(0);
        Series ema = series.get(1);
        assertEquals("train loss (EMA, window 10 steps)", ema.name());
        assertArrayEquals(raw.x(), ema.x());
        double s = raw.y()[0];
        for (int i = 0; i < raw.size(); i++) {
            if (i > 0) s = 0.9 * s + 0.1 * raw.y()[i];
            assertEquals(s, ema.y()[i], 1e-12, "point " + i);
        }
        assertEquals(10, LossPlot.smoothingWindow(1));
        assertEquals(10, LossPlot.smoothingWindow(1099));
        assertEquals(19, LossPlot.smoothingWindow(1999));
        assertEquals(20, LossPlot.smoothingWindow(2000));
        assertEquals(500, LossPlot.smoothingWindow(50_000));
    }

    static int countNear(BufferedImage image, Color c, int tolerance) {
        int n = 0;
        for (int x = 0; x < image.getWidth(); x++) {
            for (int y = 0; y < image.getHeight(); y++) {
                Color p = new Color(image.getRGB(x, y));
                if (Math.abs(p.getRed() - c.getRed()) <= tolerance && Math.abs(p.getGreen() - c.getGreen()) <= tolerance
                        && Math.abs(p.getBlue() - c.getBlue()) <= tolerance) n++;
            }
        }
        return n;
    }
}
