/**
 * What a training run writes for people to read: metrics.jsonl ({@link org.cce4j.trainer.metrics.MetricsLog},
 * one {@link org.cce4j.trainer.metrics.MetricsRecord} per optimizer step or evaluation), loss.png
 * ({@link org.cce4j.trainer.metrics.LossPlot} over the general {@link org.cce4j.trainer.metrics.LinePlot})
 * and the progress display on stderr ({@link org.cce4j.trainer.metrics.Progress}). docs/training.md
 * describes the files.
 */
package org.cce4j.trainer.metrics;
