package org.cce4j.trainer.data.packing;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress while a source is tokenized into the cache, over the source's bytes (the one total known
 * before the end). On a terminal, me.tongfei:progressbar in MB with the rows so far; elsewhere one plain
 * line at every tenth of the file, so that a log stays short:
 * <pre>tokenize data.jsonl: 40% (412 of 1,030 MB), 1,234,567 rows, 48s</pre>
 * Silent when given no stream.
 */
final class TokenizeProgress implements AutoCloseable {
    private final PrintStream out;
    private final String name;
    private final long totalBytes;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private final ProgressBar bar;
    private int lastTenth;

    TokenizeProgress(PrintStream out, boolean terminal, String name, long totalBytes, LongSupplier nanoClock) {
        this.out = out;
        this.name = name;
        this.totalBytes = Math.max(1, totalBytes);
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
        this.bar = out != null && terminal ? new ProgressBarBuilder().setTaskName("tokenize " + name).setInitialMax(this.totalBytes)
                .setUnit(" MB", 1 << 20).setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(out)).build() : null;
    }

    void update(long bytes, long rows) {
        if (out == null) return;
        if (bar != null) {
            bar.stepTo(Math.min(bytes, totalBytes));
            bar.setExtraMessage(String.format(Locale.ROOT, "%,d rows", rows));
            return;
        }
        int tenth = (int) Math.min(10, bytes * 10 / totalBytes);
        if (tenth > lastTenth && tenth < 10) {
            lastTenth = tenth;
            out.println(String.format(Locale.ROOT, "tokenize %s: %d%% (%,d of %,d MB), %,d rows, %ds", name, tenth * 10,
                    bytes >> 20, totalBytes >> 20, rows, seconds()));
            out.flush();
        }
    }

    long seconds() {
        return (nanoClock.getAsLong() - startNanos) / 1_000_000_000L;
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
