package org.cce4j.trainer.train;

import org.cce4j.core.OutOfDeviceMemoryException;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.data.Batches;
import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.TokenRows;
import org.cce4j.transformer.model.TransformerModel;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The largest micro-batch a config's training step fits on its device, found by trying it: the run's
 * model and optimizer are built as {@code train} builds them, then whole steps (forward, loss, backward,
 * the gradient norm and an AdamW update at learning rate 0, so the weights stay as they are while the
 * optimizer state is allocated as in training) are run at micro-batches of {@code data.seq_len} random
 * tokens, doubling until one runs out of device memory and then bisecting between the last that fit
 * and the first that did not (to within {@value #PRECISION}× or 1 row). Each probe's peak is the
 * backend's allocator peak over the step. Only meaningful where memory is bounded and out-of-memory is
 * reported (a GPU); on the CPU a too-large step exhausts the Java heap instead, so callers probe CUDA
 * runs only. Used by {@code compare --probe-memory} (docs/convergence.md).
 */
public final class MicroBatchProbe {
    /** How close the bisection gets: it stops when the first failing size ≤ PRECISION × the last fitting one. */
    static final double PRECISION = 1.05;

    /** What a failed step may leave allocated (workspaces kept once used) before the probe stops trusting itself. */
    static final long LEFT_OVER_LIMIT = 256L << 20;

    /** One tried micro-batch: whether its step ran, and its peak device memory (0 when it did not). */
    public record Probe(int microBatch, boolean fits, long peakBytes) {}

    /** Every probe in the order made; the largest micro-batch that fit (0 if none) and its peak. */
    public record Result(List<Probe> probes, int largest, long largestPeakBytes) {}

    private MicroBatchProbe() {}

    /** Probes {@code config}'s step at micro-batches from {@code config.train().microBatchSize()} up to {@code limit}. */
    public static Result largest(TrainConfig config, int limit) throws IOException {
        try (TrainSession s = new TrainSession(config, null, System.err, false)) {
            CceOptions options = Trainer.lossOptions(config, s.model);
            List<Probe> probes = new ArrayList<>();
            int fit = 0, fail = 0;
            long fitPeak = 0;
            for (int b = Math.min(config.train().microBatchSize(), limit); ; b = Math.min(2 * b, limit)) {
                Probe p = step(s, config, options, b);
                probes.add(p);
                if (!p.fits()) {
                    fail = b;
                    break;
                }
                fit = b;
                fitPeak = p.peakBytes();
                if (b == limit) break;
            }
            if (fit == 0 && fail > 1) {  // even the configured size failed: search below it
                int lo = 0, hi = fail;
                while (hi - lo > 1) {
                    int mid = (lo + hi) >>> 1;
                    Probe p = step(s, config, options, mid);
                    probes.add(p);
                    if (p.fits()) {
                        lo = mid;
                        fitPeak = p.peakBytes();
                    } else {
                        hi = mid;
                    }
                }
                fit = lo;
                fail = hi;
            }
            while (fail > 0 && fit > 0 && fail - fit > 1 && fail > PRECISION * fit) {
                int mid = (fit + fail) >>> 1;
                Probe p = step(s, config, options, mid);
                probes.add(p);
                if (p.fits()) {
                    fit = mid;
                    fitPeak = p.peakBytes();
                } else {
                    fail = mid;
                }
            }
            return new Result(probes, fit, fitPeak);
        }
    }

    /** One whole step at micro-batch {@code b} (one micro-batch, no accumulation). */
    private static Probe step(TrainSession s, TrainConfig config, CceOptions options, int b) {
        int seqLen = config.data().seqLen();
        TokenRows rows = randomRows(b, seqLen, s.modelConfig.vocabSize(), config.train().seed());
        int[] all = new int[b];
        for (int i = 0; i < b; i++) all[i] = i;
        long before = s.backend.bytesInUse();
        s.backend.resetPeak();
        try {
            MicroBatch mb = Batches.microBatch(rows, all, s.padTokenId);
            try (TransformerModel.Pass pass = s.model.forward(mb.batch(), config.train().seed())) {
                s.model.loss(pass, config.loss().impl(), options, (float) (1.0 / mb.targets()), true);
            }
            try (Tensor sq = s.optimizer.gradSumOfSquares()) {
                try (Tensor host = s.backend.download(sq)) {
                    host.getDouble(0);
                }
                s.optimizer.step(0.0, sq);
            }
            long peak = s.backend.peakBytes();
            s.model.parameters().zeroGrads();
            return new Probe(b, true, peak);
        } catch (OutOfDeviceMemoryException e) {
            s.model.parameters().zeroGrads();
            long left = s.backend.bytesInUse() - before;
            // a step that ran out of memory must give back what it took, or the next probes would measure less; a few
            // MiB may stay (workspaces a kernel keeps once it first ran), a step's activations (GiB) may not
            if (left > LEFT_OVER_LIMIT) {
                throw new IllegalStateException("micro-batch " + b + " ran out of device memory and left " + left + " bytes allocated");
            }
            return new Probe(b, false, 0);
        }
    }

    /** {@code n} rows of {@code t} uniform random ids, every token a target. */
    private static TokenRows randomRows(int n, int t, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int[][] ids = new int[n][t];
        for (int[] row : ids) for (int i = 0; i < t; i++) row[i] = r.nextInt(vocab);
        return new TokenRows() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public TokenRow row(int i) {
                return new TokenRow(ids[i], ids[i], t - 1);
            }
        };
    }
}
