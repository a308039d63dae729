package org.cce4j.trainer.metrics;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.Console;
import java.io.PrintStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The training progress on stderr. On a terminal: a progress bar (me.tongfei:progressbar) redrawn in
 * place, with step/total, elapsed and ETA, and the smoothed loss, learning rate, tokens/s and peak
 * memory after it. Elsewhere (a log file, a pipe, CI): one plain line every {@code logEvery} steps and
 * at the last step, so a log stays readable and grep-able:
 * <pre>step 120/400  loss 2.3127  lr 1.80e-05  41,210 tok/s  mem 10,244 MB  eta 3m12s</pre>
 * The loss shown is an {@link Ema} of the steps' losses (decay {@link Ema#DEFAULT_DECAY}), started
 * from the first loss this process sees, so a resumed run needs no saved state; the exact losses are
 * in metrics.jsonl. The ETA is linear in the steps this process has done: (elapsed / steps done) ×
 * steps left. {@link #message} prints a line (an evaluation, a checkpoint) above the bar without
 * breaking it; nothing else should write to stderr while the bar is shown.
 */
public final class Progress implements AutoCloseable {
    private static final int BAR_REFRESH_MILLIS = 500;

    private final PrintStream out;
    private final long totalSteps;
    private final long startStep;
    private final int logEvery;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private final Ema loss = new Ema(Ema.DEFAULT_DECAY);
    private final BarLine barLine;
    private final ProgressBar bar;
    private boolean closed;

    /**
     * @param terminal   true: a progress bar; false: plain lines
     * @param totalSteps the run's last step
     * @param startStep  the steps done before this process (0, or N when resumed from the checkpoint at step N)
     * @param logEvery   plain lines are printed at the steps divisible by it (and at the last step)
     * @param nanoClock  a monotonic clock in nanoseconds ({@code System::nanoTime}; tests pass their own)
     */
    public Progress(PrintStream out, boolean terminal, long totalSteps, long startStep, int logEvery, LongSupplier nanoClock) {
        if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        if (startStep < 0 || startStep > totalSteps) throw new IllegalArgumentException("start step " + startStep + " is outside 0.." + totalSteps);
        if (logEvery < 1) throw new IllegalArgumentException("log_every must be >= 1, got " + logEvery);
        this.out = out;
        this.totalSteps = totalSteps;
        this.startStep = startStep;
        this.logEvery = logEvery;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
        if (terminal) {
            barLine = new BarLine(out);
            bar = new ProgressBarBuilder()
                    .setTaskName("train")
                    .setInitialMax(totalSteps)
                    .startsFrom(startStep, Duration.ZERO)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    .setUpdateIntervalMillis(BAR_REFRESH_MILLIS)
                    .setConsumer(barLine)
                    .build();
        } else {
            barLine = null;
            bar = null;
        }
    }

    /** The display for this process's stderr: a bar when stderr is a terminal, plain lines otherwise. */
    public static Progress onStderr(long totalSteps, long startStep, int logEvery) {
        return new Progress(System.err, stderrIsTerminal(), totalSteps, startStep, logEvery, System::nanoTime);
    }

    /** A training step's record (its loss, lr, tokens_per_s, mem_mb). */
    public void update(MetricsRecord record) {
        update(record.step(), record.number("loss"), record.number("lr"), record.number("tokens_per_s"), record.number("mem_mb"));
    }

    public void update(long step, double stepLoss, double lr, double tokensPerS, double memMb) {
        double smoothed = loss.add(stepLoss);
        String stats = stats(smoothed, lr, tokensPerS, memMb);
        if (bar != null && !closed) {
            bar.setExtraMessage(stats);
            bar.stepTo(step);
        } else if (step % logEvery == 0 || step == totalSteps) {
            out.println(line(step, totalSteps, stats, etaSeconds(step)));
            out.flush();
        }
    }

    /** Prints a line of its own (above the bar on a terminal). */
    public void message(String line) {
        if (bar != null && !closed) {
            barLine.printAbove(line);
        } else {
            out.println(line);
            out.flush();
        }
    }

    /** Ends the bar (its last state stays on screen). Plain mode has nothing to end. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (bar != null) bar.close();
        out.flush();
    }

    /** Seconds left at the pace so far, or -1 before this process has finished a step. */
    long etaSeconds(long step) {
        long done = step - startStep;
        if (done <= 0) return -1;
        double elapsed = (nanoClock.getAsLong() - startNanos) / 1e9;
        return Math.round(elapsed / done * Math.max(0, totalSteps - step));
    }

    /** "loss 2.3127  lr 1.80e-05  41,210 tok/s  mem 10,244 MB" */
    static String stats(double loss, double lr, double tokensPerS, double memMb) {
        return String.format(Locale.ROOT, "loss %.4f  lr %.2e  %,.0f tok/s  mem %,.0f MB", loss, lr, tokensPerS, memMb);
    }

    /** "step 120/400  loss 2.3127  lr 1.80e-05  41,210 tok/s  mem 10,244 MB  eta 3m12s" */
    static String line(long step, long totalSteps, String stats, long etaSeconds) {
        int width = Long.toString(totalSteps).length();
        return String.format(Locale.ROOT, "step %" + width + "d/%d  %s  eta %s", step, totalSteps, stats, duration(etaSeconds));
    }

    /** 45s, 3m12s, 2h05m; "?" for a negative (unknown) duration. */
    static String duration(long seconds) {
        if (seconds < 0) return "?";
        if (seconds < 60) return seconds + "s";
        if (seconds < 3600) return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
        return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, (seconds % 3600) / 60);
    }

    /**
     * isatty(2) through FFM: stderr itself, where System.console() asks about stdin and stdout (a run
     * with {@code 2> train.log} on a terminal must not fill its log with bar redraws). Falls back to the
     * console where the C library cannot be called.
     */
    public static boolean stderrIsTerminal() {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(2) == 1;
        } catch (Throwable e) {
            Console console = System.console();
            return console != null && console.isTerminal();
        }
    }

    /**
     * The bar's line on the terminal. The bar is redrawn from progressbar's own thread; a message takes
     * the same lock, blanks the bar's line, prints itself with a newline and redraws the bar below it.
     */
    private static final class BarLine extends ConsoleProgressBarConsumer {
        private final PrintStream out;
        private String last = "";

        BarLine(PrintStream out) {
            super(out);
            this.out = out;
        }

        @Override
        public synchronized void accept(String rendered) {
            last = rendered;
            super.accept(rendered);
            out.flush();
        }

        synchronized void printAbove(String line) {
            out.print("\r" + " ".repeat(Math.max(0, getMaxRenderedLength())) + "\r");
            out.println(line);
            super.accept(last);
            out.flush();
        }

        @Override
        public synchronized void close() {
            super.close();
        }
    }
}
