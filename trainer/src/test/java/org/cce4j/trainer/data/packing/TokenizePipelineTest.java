package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.TokenRow;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pipeline writes rows in file order whatever order the workers finish in, holds at most its bound
 * of tokenized but unwritten records, and reports the first failure in file order.
 */
class TokenizePipelineTest {

    private static List<TokenRow> rowsOf(int record) {
        // record r → r % 3 rows (none for some), row k = [r, k]
        List<TokenRow> out = new ArrayList<>();
        for (int k = 0; k < record % 3; k++) {
            int[] ids = {record, k};
            out.add(new TokenRow(ids, ids, 1));
        }
        return out;
    }

    private static void jitter() {
        if (ThreadLocalRandom.current().nextInt(8) == 0) {
            try {
                Thread.sleep(0, ThreadLocalRandom.current().nextInt(200_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void rowsComeOutInFileOrderUnderParallelTokenizing() throws IOException {
        int n = 20_000, threads = 4;
        AtomicInteger running = new AtomicInteger(), mostAtOnce = new AtomicInteger();
        AtomicLong tokenized = new AtomicLong();
        List<int[]> written = new ArrayList<>();
        long[] writtenRecords = {0};
        long[] mostAhead = {0};
        Iterator<Integer> records = IntStream.range(0, n).iterator();
        TokenizePipeline.run(records, r -> {
            int now = running.incrementAndGet();
            mostAtOnce.accumulateAndGet(now, Math::max);
            jitter();
            running.decrementAndGet();
            tokenized.incrementAndGet();
            return rowsOf(r);
        }, threads, row -> written.add(row.inputIds()), () -> {
            writtenRecords[0] += TokenizePipeline.CHUNK;
            mostAhead[0] = Math.max(mostAhead[0], tokenized.get() - writtenRecords[0]);
        });
        int i = 0;
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < r % 3; k++, i++) {
                assertEquals(r, written.get(i)[0], "row " + i);
                assertEquals(k, written.get(i)[1], "row " + i);
            }
        }
        assertEquals(i, written.size());
        assertTrue(mostAtOnce.get() > 1, "records were tokenized in parallel");
        assertTrue(mostAhead[0] <= 4L * threads * TokenizePipeline.CHUNK, "at most 4 × threads chunks ahead, was " + mostAhead[0] + " records");
    }

    @Test
    void theFirstBadRecordInFileOrderIsReported() {
        // record 100 fails late (after a pause), record 5000 at once: 100's error is the one reported
        Iterator<Integer> records = IntStream.range(0, 20_000).iterator();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenizePipeline.run(records, r -> {
            if (r == 100) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalArgumentException("data.jsonl:101: bad");
            }
            if (r == 5000) throw new IllegalArgumentException("data.jsonl:5001: bad");
            return rowsOf(r);
        }, 4, row -> {}, () -> {}));
        assertEquals("data.jsonl:101: bad", e.getMessage());
    }

    @Test
    void aReadErrorComesAfterTheRecordsReadBeforeIt() {
        Iterator<Integer> failing = new Iterator<>() {
            int next;

            public boolean hasNext() {
                if (next == 300) throw new java.io.UncheckedIOException(new IOException("disk gone"));
                return true;
            }

            public Integer next() {
                return next++;
            }
        };
        RuntimeException e = assertThrows(RuntimeException.class, () -> TokenizePipeline.run(failing, r -> {
            if (r == 250) throw new IllegalArgumentException("record 250 is bad");
            return rowsOf(r);
        }, 2, row -> {}, () -> {}));
        assertEquals("record 250 is bad", e.getMessage());
        List<Integer> seen = new ArrayList<>();
        Iterator<Integer> failingLater = new Iterator<>() {
            int next;

            public boolean hasNext() {
                if (next == 300) throw new java.io.UncheckedIOException(new IOException("disk gone"));
                return true;
            }

            public Integer next() {
                return next++;
            }
        };
        RuntimeException io = assertThrows(java.io.UncheckedIOException.class, () -> TokenizePipeline.run(failingLater, r -> List.of(new TokenRow(new int[] {r, 0}, new int[] {r, 0}, 1)),
                2, row -> seen.add(row.inputIds()[0]), () -> {}));
        assertEquals("java.io.IOException: disk gone", io.getMessage());
        assertEquals(IntStream.range(0, 300).boxed().toList(), seen, "every record read before the error was written");
    }
}
