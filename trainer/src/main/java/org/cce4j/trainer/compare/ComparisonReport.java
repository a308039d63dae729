package org.cce4j.trainer.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.metrics.Ema;
import org.cce4j.trainer.metrics.LinePlot;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.metrics.Series;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a comparison found, from its runs' metrics.jsonl alone (so a report can be rewritten without
 * training again):
 * <pre>
 *   summary.json   per variant: final and best eval loss and perplexity (mean ± std over seeds), the final
 *                  training loss (mean of the last 10 steps), median tokens/s, the step's peak memory,
 *                  mean |Δloss| to the baseline of the same seed, and (MemoryProbe, when measured) the
 *                  loss's own memory and the largest micro-batch; references (runs of another trainer,
 *                  e.g. PyTorch, from the same weights and data order) by their training loss
 *   loss.png       training loss (EMA-smoothed), per variant the seed mean with the seeds' min..max as a band
 *   eval.png       evaluation loss, likewise
 *   diff.png       per step, loss − the baseline's loss of the same seed (mean over seeds), against the
 *                  baseline's own seed-to-seed spread (± one standard deviation around 0)
 *   report.md      the table and the plots, with the command that made them
 * </pre>
 * With two or more baseline seeds, each other variant's mean final evaluation perplexity is set against
 * the baseline seeds' range (summary: final_eval_ppl_vs_baseline; report.md says within or outside).
 * A reference is drawn on loss.png and, against the baseline's first seed (else the first variant's),
 * on diff.png; it has no seeds and no evaluation of its own.
 */
public final class ComparisonReport {
    private ComparisonReport() {}

    /** One variant's seeds: step losses [seed][step], eval losses [seed][eval], their steps. */
    record Curves(long[] steps, double[][] loss, long[] evalSteps, double[][] eval, double[] tokensPerS, double[] peakMb) {}

    static Curves curves(List<Comparison.Run> runs) throws IOException {
        List<List<MetricsRecord>> bySeed = new ArrayList<>();
        for (Comparison.Run r : runs) bySeed.add(MetricsLog.read(r.folder().resolve(RunFolder.METRICS)));
        List<MetricsRecord> first = bySeed.get(0);
        long[] steps = first.stream().filter(m -> !m.isEval()).mapToLong(MetricsRecord::step).toArray();
        long[] evalSteps = first.stream().filter(MetricsRecord::isEval).mapToLong(MetricsRecord::step).toArray();
        double[][] loss = new double[bySeed.size()][], eval = new double[bySeed.size()][];
        double[] tps = new double[bySeed.size()], peak = new double[bySeed.size()];
        for (int s = 0; s < bySeed.size(); s++) {
            List<MetricsRecord> m = bySeed.get(s);
            loss[s] = m.stream().filter(x -> !x.isEval()).mapToDouble(x -> x.number("loss")).toArray();
            eval[s] = m.stream().filter(MetricsRecord::isEval).mapToDouble(x -> x.number("eval_loss")).toArray();
            double[] t = m.stream().filter(x -> !x.isEval()).mapToDouble(x -> x.number("tokens_per_s")).sorted().toArray();
            tps[s] = t.length == 0 ? Double.NaN : t[t.length / 2];
            peak[s] = m.stream().filter(x -> !x.isEval()).mapToDouble(x -> x.number("mem_mb")).max().orElse(Double.NaN);
        }
        return new Curves(steps, loss, evalSteps, eval, tps, peak);
    }

    /** A run folder of another trainer, drawn beside the variants under {@code name}. */
    public record Reference(String name, Path folder) {}

    /** Writes summary.json, the three plots and report.md into {@code output}; returns the summary. */
    public static ObjectNode write(Path output, List<Comparison.Run> runs, String command) throws IOException {
        return write(output, runs, command, List.of());
    }

    /** The same with references drawn beside the variants. */
    public static ObjectNode write(Path output, List<Comparison.Run> runs, String command, List<Reference> references) throws IOException {
        Map<String, List<Comparison.Run>> byVariant = new LinkedHashMap<>();
        for (Comparison.Run r : runs) byVariant.computeIfAbsent(r.variant().name(), k -> new ArrayList<>()).add(r);
        Map<String, Curves> curves = new LinkedHashMap<>();
        for (var e : byVariant.entrySet()) curves.put(e.getKey(), curves(e.getValue()));
        Curves baseline = curves.get("baseline");

        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode summary = json.createObjectNode();
        List<Series> lossSeries = new ArrayList<>(), evalSeries = new ArrayList<>(), diffSeries = new ArrayList<>();
        StringBuilder table = new StringBuilder("| variant | seeds | final train loss | final eval loss | final eval ppl | best eval loss | mean abs Δloss to baseline | tokens/s | step peak MB | loss MB | largest micro-batch |\n")
                .append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        Map<String, Variant> variantsByName = new LinkedHashMap<>();
        for (Comparison.Run r : runs) variantsByName.putIfAbsent(r.variant().name(), r.variant());
        for (var e : curves.entrySet()) {
            String name = e.getKey();
            Curves c = e.getValue();
            int seeds = c.loss.length;
            double[] finalEval = new double[seeds], bestEval = new double[seeds];
            for (int s = 0; s < seeds; s++) {
                double[] ev = c.eval[s];
                finalEval[s] = ev.length == 0 ? Double.NaN : ev[ev.length - 1];
                double best = Double.NaN;
                for (double v : ev) if (Double.isNaN(best) || v < best) best = v;
                bestEval[s] = best;
            }
            double meanAbsDiff = Double.NaN;
            if (baseline != null && !name.equals("baseline")) {
                double sum = 0;
                long n = 0;
                for (int s = 0; s < Math.min(seeds, baseline.loss.length); s++) {
                    for (int t = 0; t < Math.min(c.loss[s].length, baseline.loss[s].length); t++) {
                        sum += Math.abs(c.loss[s][t] - baseline.loss[s][t]);
                        n++;
                    }
                }
                meanAbsDiff = n == 0 ? Double.NaN : sum / n;
            }
            double[] finalTrain = new double[seeds];
            for (int s = 0; s < seeds; s++) finalTrain[s] = tailMean(c.loss[s], 10);
            ObjectNode v = summary.putObject(name);
            v.put("seeds", seeds);
            putStats(v, "final_train_loss", finalTrain);
            putStats(v, "final_eval_loss", finalEval);
            putStats(v, "final_eval_ppl", exp(finalEval));
            putStats(v, "best_eval_loss", bestEval);
            putStats(v, "best_eval_ppl", exp(bestEval));
            putStats(v, "tokens_per_s", c.tokensPerS);
            putStats(v, "peak_mem_mb", c.peakMb);
            if (!Double.isNaN(meanAbsDiff)) v.put("mean_abs_loss_diff_to_baseline", meanAbsDiff);
            JsonNode memory = MemoryProbe.read(output, variantsByName.get(name));
            String lossMb = "—", largest = "—";
            if (memory != null) {
                ObjectNode mem = v.putObject("memory");
                memory.fields().forEachRemaining(f -> mem.set(f.getKey(), f.getValue()));
                if (memory.has("loss_extra_mb")) lossMb = String.format(Locale.ROOT, "%,.1f", memory.get("loss_extra_mb").asDouble());
                if (memory.has("largest_micro_batch")) {
                    largest = String.format(Locale.ROOT, "%d (%,.0f MB)", memory.get("largest_micro_batch").asInt(),
                            memory.get("largest_micro_batch_mb").asDouble());
                }
            }
            table.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", name, seeds, pm(finalTrain), pm(finalEval),
                    pm(exp(finalEval)), pm(bestEval), Double.isNaN(meanAbsDiff) ? "—" : String.format(Locale.ROOT, "%.2e", meanAbsDiff),
                    pm0(c.tokensPerS), pm0(c.peakMb), lossMb, largest));

            double[] x = toDouble(c.steps);
            double[][] smooth = new double[seeds][];
            for (int s = 0; s < seeds; s++) smooth[s] = Ema.smooth(c.loss[s], 0.9);
            lossSeries.add(banded(name, x, smooth));
            if (c.evalSteps.length > 0) evalSeries.add(banded(name, toDouble(c.evalSteps), c.eval));
            if (baseline != null && !name.equals("baseline")) {
                double[][] d = new double[Math.min(seeds, baseline.loss.length)][];
                for (int s = 0; s < d.length; s++) {
                    d[s] = new double[Math.min(c.loss[s].length, baseline.loss[s].length)];
                    for (int t = 0; t < d[s].length; t++) d[s][t] = c.loss[s][t] - baseline.loss[s][t];
                }
                diffSeries.add(banded(name + " − baseline", x, d));
            }
        }
        Curves against = baseline != null ? baseline : curves.isEmpty() ? null : curves.values().iterator().next();
        for (Reference ref : references) {
            List<MetricsRecord> m = MetricsLog.read(ref.folder().resolve(RunFolder.METRICS));
            double[] x = m.stream().filter(r -> !r.isEval()).mapToDouble(MetricsRecord::step).toArray();
            double[] loss = m.stream().filter(r -> !r.isEval()).mapToDouble(r -> r.number("loss")).toArray();
            ObjectNode v = summary.putObject(ref.name());
            v.put("reference", ref.folder().toString());
            v.put("steps", loss.length);
            v.put("final_train_loss", tailMean(loss, 10));
            double meanAbsDiff = Double.NaN;
            if (against != null) {
                double[] d = new double[Math.min(loss.length, against.loss[0].length)];
                double sum = 0;
                for (int t = 0; t < d.length; t++) {
                    d[t] = loss[t] - against.loss[0][t];
                    sum += Math.abs(d[t]);
                }
                meanAbsDiff = d.length == 0 ? Double.NaN : sum / d.length;
                v.put("mean_abs_loss_diff", meanAbsDiff);
                v.put("diff_against", baseline != null ? "baseline, first seed" : curves.keySet().iterator().next() + ", first seed");
                diffSeries.add(Series.of(ref.name() + " − " + (baseline != null ? "baseline" : curves.keySet().iterator().next()),
                        java.util.Arrays.copyOf(x, d.length), d, Series.Style.LINE));
            }
            lossSeries.add(Series.of(ref.name(), x, Ema.smooth(loss, 0.9), Series.Style.LINE));
            table.append(String.format(Locale.ROOT, "| %s (reference) | 1 | %.4f | — | — | — | %s | — | — | — | — |%n", ref.name(), tailMean(loss, 10),
                    Double.isNaN(meanAbsDiff) ? "—" : String.format(Locale.ROOT, "%.2e", meanAbsDiff)));
        }
        if (baseline != null && baseline.loss.length > 1) {
            int steps = baseline.loss[0].length;
            double[] lo = new double[steps], hi = new double[steps], zero = new double[steps];
            for (int t = 0; t < steps; t++) {
                double[] col = new double[baseline.loss.length];
                for (int s = 0; s < col.length; s++) col[s] = t < baseline.loss[s].length ? baseline.loss[s][t] : Double.NaN;
                double sd = std(col);
                lo[t] = -sd;
                hi[t] = sd;
            }
            diffSeries.add(Series.of("baseline seed-to-seed spread (± 1 std)", toDouble(baseline.steps), zero, Series.Style.THIN)
                    .withColor(java.awt.Color.GRAY).withBand(lo, hi));
        }
        StringBuilder verdicts = new StringBuilder();
        double[] baseFinal = finalEvalPpl(baseline);
        if (baseFinal != null && baseFinal.length > 1) {
            double lo = java.util.Arrays.stream(baseFinal).filter(Double::isFinite).min().orElse(Double.NaN);
            double hi = java.util.Arrays.stream(baseFinal).filter(Double::isFinite).max().orElse(Double.NaN);
            for (var e : curves.entrySet()) {
                if (e.getKey().equals("baseline")) continue;
                double[] f = finalEvalPpl(e.getValue());
                double m = mean(f), delta = m - mean(baseFinal);
                boolean within = m >= lo && m <= hi;
                ObjectNode w = ((ObjectNode) summary.get(e.getKey())).putObject("final_eval_ppl_vs_baseline");
                w.put("delta", delta);
                w.put("baseline_std", std(baseFinal));
                w.put("baseline_min", lo);
                w.put("baseline_max", hi);
                w.put("within_baseline_seed_range", within);
                verdicts.append(String.format(Locale.ROOT, "- %s: final eval perplexity %.4f, %+.4f from the baseline's mean (its seeds: %.4f .. %.4f, std %.4f): %s%n",
                        e.getKey(), m, delta, lo, hi, std(baseFinal), within ? "within the baseline's seed-to-seed range"
                                : m < lo ? "below the baseline's seed-to-seed range (better)" : "above the baseline's seed-to-seed range (worse)"));
            }
        }
        AtomicFiles.writeString(output.resolve("summary.json"), json.writeValueAsString(summary) + "\n");
        List<String> images = new ArrayList<>();
        images.add(plot(output, "loss.png", "training loss (EMA), mean and min..max over seeds", "loss", lossSeries));
        if (!evalSeries.isEmpty()) images.add(plot(output, "eval.png", "evaluation loss, mean and min..max over seeds", "eval loss", evalSeries));
        if (!diffSeries.isEmpty()) images.add(plot(output, "diff.png", "loss − baseline's loss (same seed)", "Δ loss", diffSeries));
        StringBuilder md = new StringBuilder("# Comparison\n\n").append("`").append(command).append("`\n\n").append(table).append('\n');
        if (!verdicts.isEmpty()) md.append(verdicts).append('\n');
        for (String img : images) if (img != null) md.append("![").append(img).append("](").append(img).append(")\n\n");
        AtomicFiles.writeString(output.resolve("report.md"), md.toString());
        return summary;
    }

    /** A plot, or null (and no file) when this machine cannot render one (no fonts). */
    private static String plot(Path output, String file, String title, String y, List<Series> series) {
        try {
            new LinePlot(title, "step", y, series).write(output.resolve(file));
            return file;
        } catch (IOException | RuntimeException | Error e) {
            if (e instanceof VirtualMachineError v && !(v instanceof OutOfMemoryError)) throw v;
            return null;
        }
    }

    private static Series banded(String name, double[] x, double[][] bySeed) {
        int n = x.length;
        double[] mean = new double[n], lo = new double[n], hi = new double[n];
        for (int t = 0; t < n; t++) {
            double sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
            int k = 0;
            for (double[] s : bySeed) {
                if (t >= s.length || !Double.isFinite(s[t])) continue;
                sum += s[t];
                min = Math.min(min, s[t]);
                max = Math.max(max, s[t]);
                k++;
            }
            mean[t] = k == 0 ? Double.NaN : sum / k;
            lo[t] = k == 0 ? Double.NaN : min;
            hi[t] = k == 0 ? Double.NaN : max;
        }
        Series s = Series.of(name, x, mean, Series.Style.LINE);
        return bySeed.length > 1 ? s.withBand(lo, hi) : s;
    }

    /** Each seed's final evaluation perplexity, or null without curves or evaluations. */
    private static double[] finalEvalPpl(Curves c) {
        if (c == null || c.eval.length == 0 || c.eval[0].length == 0) return null;
        double[] f = new double[c.eval.length];
        for (int s = 0; s < f.length; s++) f[s] = c.eval[s].length == 0 ? Double.NaN : Math.exp(c.eval[s][c.eval[s].length - 1]);
        return f;
    }

    /** The mean of the last {@code k} finite values (NaN when there are none). */
    static double tailMean(double[] a, int k) {
        double sum = 0;
        int n = 0;
        for (int i = a.length - 1; i >= 0 && n < k; i--) {
            if (Double.isFinite(a[i])) {
                sum += a[i];
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static double[] toDouble(long[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    private static double[] exp(double[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = Math.exp(a[i]);
        return d;
    }

    static double mean(double[] a) {
        double s = 0;
        int n = 0;
        for (double v : a) if (Double.isFinite(v)) {
            s += v;
            n++;
        }
        return n == 0 ? Double.NaN : s / n;
    }

    /** The sample standard deviation (n − 1), 0 for one value. */
    static double std(double[] a) {
        double m = mean(a), s = 0;
        int n = 0;
        for (double v : a) if (Double.isFinite(v)) {
            s += (v - m) * (v - m);
            n++;
        }
        return n < 2 ? 0 : Math.sqrt(s / (n - 1));
    }

    private static void putStats(ObjectNode v, String key, double[] values) {
        ObjectNode o = v.putObject(key);
        double m = mean(values);
        if (Double.isNaN(m)) {
            o.putNull("mean");
            o.putNull("std");
        } else {
            o.put("mean", m);
            o.put("std", std(values));
        }
        ArrayNode all = o.putArray("by_seed");
        for (double d : values) {
            if (Double.isFinite(d)) all.add(d);
            else all.addNull();
        }
    }

    private static String pm(double[] a) {
        double m = mean(a);
        return Double.isNaN(m) ? "—" : String.format(Locale.ROOT, "%.4f ± %.4f", m, std(a));
    }

    private static String pm0(double[] a) {
        double m = mean(a);
        return Double.isNaN(m) ? "—" : String.format(Locale.ROOT, "%,.0f", m);
    }
}
