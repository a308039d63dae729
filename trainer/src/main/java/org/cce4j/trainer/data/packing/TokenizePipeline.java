package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.TokenRow;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Tokenizes ahead on worker threads and writes in file order, in bounded memory. The calling thread
 * reads records, cuts them into chunks of {@value #CHUNK}, hands each chunk to the pool and, once
 * {@code 4 × threads} chunks are in flight, waits for the oldest and writes its rows before reading on:
 * <pre>
 *   read ─► [c7 c6 c5 c4 c3 c2 c1 c0] ─► write c0, c1, ... (in order)
 *            workers tokenize any of them at once
 * </pre>
 * So the workers stay busy while the writer waits, at most 4 × threads × CHUNK records are held, and the
 * rows come out exactly in the order one thread would produce them. A failure is reported in file order
 * too: the first bad record's exception, even when a later chunk (or the reader) failed first in time;
 * everything in flight is then cancelled.
 */
final class TokenizePipeline {
    /** Records a task tokenizes: enough to make a task's cost large against handing it over. */
    static final int CHUNK = 64;

    /** Where rows go, in order (the token file writer). */
    @FunctionalInterface
    interface Sink {
        void accept(TokenRow row) throws IOException;
    }

    /** Called on the calling thread after each chunk is written. */
    @FunctionalInterface
    interface Written {
        void chunk();
    }

    /** Called on the calling thread, in file order, after each record's rows are written: how many it gave. */
    @FunctionalInterface
    interface RecordEnd {
        void rows(int count);
    }

    private TokenizePipeline() {}

    static <R> void run(Iterator<R> records, Function<R, List<TokenRow>> tokenize, int threads, Sink sink, Written written) throws IOException {
        run(records, tokenize, threads, sink, n -> {}, written);
    }

    static <R> void run(Iterator<R> records, Function<R, List<TokenRow>> tokenize, int threads, Sink sink, RecordEnd recordEnd,
                        Written written) throws IOException {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        AtomicInteger number = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "tokenize-" + number.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        int maxInFlight = 4 * threads;
        ArrayDeque<Future<List<List<TokenRow>>>> inFlight = new ArrayDeque<>(maxInFlight);
        try {
            RuntimeException readError = null;
            boolean more = true;
            while (more) {
                List<R> chunk = new ArrayList<>(CHUNK);
                try {
                    while (chunk.size() < CHUNK && records.hasNext()) chunk.add(records.next());
                    more = chunk.size() == CHUNK;
                } catch (RuntimeException e) {
                    readError = e; // thrown after the records read before it: an earlier bad record is reported first
                    more = false;
                }
                if (!chunk.isEmpty()) {
                    inFlight.add(pool.submit(() -> {
                        List<List<TokenRow>> rows = new ArrayList<>(chunk.size());
                        for (R r : chunk) rows.add(tokenize.apply(r));
                        return rows;
                    }));
                }
                while (inFlight.size() >= maxInFlight) writeOldest(inFlight, sink, recordEnd, written);
            }
            while (!inFlight.isEmpty()) writeOldest(inFlight, sink, recordEnd, written);
            if (readError != null) throw readError;
        } finally {
            for (Future<?> f : inFlight) f.cancel(true);
            pool.shutdownNow();
        }
    }

    private static void writeOldest(ArrayDeque<Future<List<List<TokenRow>>>> inFlight, Sink sink, RecordEnd recordEnd, Written written)
            throws IOException {
        List<List<TokenRow>> rows;
        try {
            rows = inFlight.peekFirst().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while tokenizing", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error err) throw err;
            if (c instanceof IOException io) throw io;
            throw new UncheckedIOException(new IOException(c));
        }
        inFlight.removeFirst();
        for (List<TokenRow> record : rows) {
            for (TokenRow row : record) sink.accept(row);
            recordEnd.rows(record.size());
        }
        written.chunk();
    }
}
