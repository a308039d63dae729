package org.cce4j.trainer.data;

import org.cce4j.checkpoints.state.TrainingState.DataPosition;
import org.cce4j.core.InvalidInputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which rows each optimizer step of a run trains on. An epoch visits the n rows in its
 * {@link EpochOrder} and is cut into steps of R = micro_batch_size × grad_accum consecutive rows of
 * that order; the last step of an epoch may be smaller (steps never cross an epoch boundary), so
 * steps_per_epoch = ceil(n / R) and total_steps = steps_per_epoch × epochs, capped by max_steps when
 * it is > 0. Everything follows from the step number, so a run resumes from a {@link DataPosition}
 * (epoch, index of the next row in that epoch's order) alone.
 *
 * <pre>
 *   epoch e order:  [ r r r r | r r r r | r r ]     n = 10, R = 4: steps of 4, 4, 2 rows
 *   step s (1-based) = e × steps_per_epoch + k + 1 covers order[k·R .. min(n, (k+1)·R))
 * </pre>
 *
 * The current epoch's order is computed once and kept; not meant for several threads. The units cut
 * into steps are rows here; {@code trainer.data.packing.PackedPlan} cuts packed sequences the same way
 * ({@link Unit} names them in messages).
 */
public final class TrainingPlan {
    /** What the plan's units are called in messages: "row"/"rows", or "packed sequence"/"packed sequences". */
    public record Unit(String one, String many) {
        public static final Unit ROWS = new Unit("row", "rows");
    }

    private final Unit unit;
    private final int rows;
    private final int microBatchSize;
    private final int rowsPerStep;
    private final int stepsPerEpoch;
    private final int epochs;
    private final long totalSteps;
    private final boolean shuffle;
    private final long seed;
    private int cachedEpoch = -1;
    private int[] cachedOrder;

    /**
     * @param rows           rows in the file (n >= 1)
     * @param microBatchSize train.micro_batch_size (>= 1)
     * @param gradAccum      train.grad_accum (>= 1)
     * @param epochs         train.epochs (>= 1)
     * @param maxSteps       train.max_steps (0 = no limit)
     * @param shuffle        data.shuffle
     * @param seed           train.seed (read as unsigned 64 bits by the shuffle)
     */
    public TrainingPlan(int rows, int microBatchSize, int gradAccum, int epochs, long maxSteps, boolean shuffle, long seed) {
        this(Unit.ROWS, rows, microBatchSize, gradAccum, epochs, maxSteps, shuffle, seed);
    }

    /** A plan over {@code units} units of another kind (packed sequences), with the same arithmetic. */
    public TrainingPlan(Unit unit, int units, int microBatchSize, int gradAccum, int epochs, long maxSteps, boolean shuffle, long seed) {
        this.unit = unit;
        if (units < 1) throw new InvalidInputException("the training data has no " + unit.many());
        if (microBatchSize < 1) throw new InvalidInputException("train.micro_batch_size must be >= 1, got " + microBatchSize);
        if (gradAccum < 1) throw new InvalidInputException("train.grad_accum must be >= 1, got " + gradAccum);
        if (epochs < 1) throw new InvalidInputException("train.epochs must be >= 1, got " + epochs);
        if (maxSteps < 0) throw new InvalidInputException("train.max_steps must be >= 0 (0 = no limit), got " + maxSteps);
        this.rows = units;
        this.microBatchSize = microBatchSize;
        this.rowsPerStep = (int) Math.min((long) microBatchSize * gradAccum, units); // a step never holds more than an epoch
        this.stepsPerEpoch = Math.ceilDiv(units, rowsPerStep);
        this.epochs = epochs;
        long all = (long) stepsPerEpoch * epochs;
        this.totalSteps = maxSteps > 0 ? Math.min(all, maxSteps) : all;
        this.shuffle = shuffle;
        this.seed = seed;
    }

    /** n, the rows of an epoch. */
    public int rows() {
        return rows;
    }

    /** train.micro_batch_size. */
    public int microBatchSize() {
        return microBatchSize;
    }

    /** Rows of a full step: micro_batch_size × grad_accum (or n when that is more). */
    public int rowsPerStep() {
        return rowsPerStep;
    }

    /** ceil(n / (micro_batch_size × grad_accum)). */
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /** The steps of the run: steps_per_epoch × epochs, capped by max_steps when > 0. */
    public long totalSteps() {
        return totalSteps;
    }

    /** The epochs the run touches: fewer than train.epochs when max_steps ends it first. */
    public int epochsTouched() {
        return (int) Math.ceilDiv(totalSteps, stepsPerEpoch);
    }

    /** Step {@code s}, 1 <= s <= totalSteps(). */
    public Step step(long s) {
        if (s < 1 || s > totalSteps) throw new IllegalArgumentException("step " + s + " is outside 1.." + totalSteps);
        int epoch = (int) ((s - 1) / stepsPerEpoch);
        int k = (int) ((s - 1) % stepsPerEpoch);
        int start = k * rowsPerStep;
        int end = Math.min(rows, start + rowsPerStep);
        int[] stepRows = Arrays.copyOfRange(order(epoch), start, end);
        List<int[]> micro = new ArrayList<>(Math.ceilDiv(stepRows.length, microBatchSize));
        for (int i = 0; i < stepRows.length; i += microBatchSize) {
            micro.add(Arrays.copyOfRange(stepRows, i, Math.min(stepRows.length, i + microBatchSize)));
        }
        return new Step(s, epoch, start, stepRows, micro);
    }

    /**
     * Where the data stands once step {@code s} is done (s = 0: before the first step): the epoch and
     * the index of the next row in its order; the end of an epoch is written as (epoch + 1, 0).
     */
    public DataPosition positionAfter(long s) {
        if (s < 0 || s > totalSteps) throw new IllegalArgumentException("step " + s + " is outside 0.." + totalSteps);
        if (s == 0) return new DataPosition(0, 0);
        long epoch = (s - 1) / stepsPerEpoch;
        long end = Math.min(rows, ((s - 1) % stepsPerEpoch + 1) * rowsPerStep);
        return end == rows ? new DataPosition(epoch + 1, 0) : new DataPosition(epoch, end);
    }

    /**
     * The step that starts at {@code position} (the inverse of {@link #positionAfter}): totalSteps() + 1
     * or more when the run is already complete. A position that is not a step boundary of this plan
     * (the checkpoint was written with another micro_batch_size, grad_accum or rows file) is refused.
     */
    public long nextStep(DataPosition position) {
        long epoch = position.epoch(), index = position.index();
        if (epoch < 0 || index < 0 || index > rows) {
            throw new InvalidInputException("the checkpoint's data position (epoch " + epoch + ", " + unit.one() + " " + index
                    + ") does not fit the training data (" + rows + " " + unit.many() + " an epoch)");
        }
        if (index == rows) {
            epoch++;
            index = 0;
        }
        if (index % rowsPerStep != 0) {
            throw new InvalidInputException("the checkpoint's data position (epoch " + epoch + ", " + unit.one() + " " + index
                    + ") is not at a step boundary of this run (" + rowsPerStep + " " + unit.many()
                    + " a step): train.micro_batch_size, train.grad_accum or the training data changed");
        }
        return epoch * stepsPerEpoch + index / rowsPerStep + 1;
    }

    /** Epoch {@code epoch}'s order (row indices); the array is the plan's own: do not modify it. */
    public synchronized int[] order(int epoch) {
        if (epoch != cachedEpoch) {
            cachedOrder = EpochOrder.of(rows, shuffle, seed, epoch);
            cachedEpoch = epoch;
        }
        return cachedOrder;
    }
}
