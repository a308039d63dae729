package org.cce4j.trainer.data.packing;

import org.cce4j.trainer.data.EpochOrder;
import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.Padding;
import org.cce4j.trainer.data.Step;
import org.cce4j.trainer.data.StepBatches;
import org.cce4j.trainer.data.StepPlan;
import org.cce4j.trainer.data.TokenRows;
import org.cce4j.trainer.data.TrainingPlan;

import java.util.ArrayList;
import java.util.List;

/**
 * The plan of a packed run. Epoch e is built from (seed, e) alone:
 * <pre>
 *   rows of epoch e    EpochOrder.of(n, shuffle, seed, e)                  the unpacked run's order
 *   packs of epoch e   Packer.pack(rows, that order, seq_len)             P packed sequences, P the same every epoch
 *   order of packs     EpochOrder.of(P, shuffle, seed ^ PACK_ORDER_SALT, e)   (file-like order without shuffle)
 *   steps              that order cut by a TrainingPlan over P units: micro_batch_size × grad_accum packs a step
 * </pre>
 * The packs need an order of their own: best-fit decreasing opens them longest row first, and the
 * steps would otherwise go from long documents to short ones. The salt gives that shuffle a stream of its own.
 * Because P is the same in every epoch ({@link Packer}), steps_per_epoch = ceil(P / (micro_batch_size ×
 * grad_accum)) is too, and the TrainingPlan's arithmetic — total steps, the smaller last step of an epoch,
 * max_steps — holds unchanged, with packs where it had rows. The data position a checkpoint stores is
 * (epoch, index of the next pack in the epoch's order of packs). The loss is unchanged: a step's N_s
 * is the sum of its rows' targets, as unpacked (a document's first label never was a target).
 * <p>
 * The current epoch's packs are computed once and kept (about 8 bytes a row); not meant for several threads.
 */
public final class PackedPlan implements StepPlan {
    /** XORed into train.seed for the order of the packs ("PACKSEQS" in ASCII). */
    public static final long PACK_ORDER_SALT = 0x5041434B53455153L;

    private static final TrainingPlan.Unit PACKS = new TrainingPlan.Unit("packed sequence", "packed sequences");

    private final TokenRows rows;
    private final int seqLen;
    private final boolean shuffle;
    private final long seed;
    private final TrainingPlan plan;
    private int cachedEpoch = -1;
    private Packs cachedPacks;

    /**
     * Packs epoch 0 to learn P; the other epochs are packed when first asked for.
     *
     * @param rows           the training rows, each of 1..seqLen tokens
     * @param seqLen         data.seq_len: the most tokens a packed sequence holds
     * @param microBatchSize train.micro_batch_size: packed sequences per forward and backward
     * @param gradAccum      train.grad_accum
     * @param epochs         train.epochs
     * @param maxSteps       train.max_steps (0 = no limit)
     * @param shuffle        data.shuffle: the rows before packing, and the packs
     * @param seed           train.seed
     */
    public PackedPlan(TokenRows rows, int seqLen, int microBatchSize, int gradAccum, int epochs, long maxSteps, boolean shuffle, long seed) {
        this.rows = rows;
        this.seqLen = seqLen;
        this.shuffle = shuffle;
        this.seed = seed;
        this.plan = new TrainingPlan(PACKS, packsOf(0).count(), microBatchSize, gradAccum, epochs, maxSteps, shuffle, seed ^ PACK_ORDER_SALT);
    }

    @Override
    public TrainingPlan steps() {
        return plan;
    }

    /** P, the packed sequences of every epoch. */
    public int packsPerEpoch() {
        return plan.rows();
    }






    /** Step {@code s}: its packs, in micro-batches of micro_batch_size. */
    public PackedStep step(long s) {
        Step units = plan.step(s);
        Packs packs = packsOf(units.epoch());
        List<List<int[]>> micro = new ArrayList<>(units.microBatches().size());
        for (int[] ps : units.microBatches()) {
            List<int[]> m = new ArrayList<>(ps.length);
            for (int p : ps) m.add(packs.rows(p));
            micro.add(m);
        }
        return new PackedStep(s, units.epoch(), units.start(), micro);
    }

    @Override
    public StepBatches batches(long s, int padTokenId) {
        PackedStep step = step(s);
        List<MicroBatch> micro = new ArrayList<>(step.microBatches().size());
        long targets = 0;
        for (List<int[]> packs : step.microBatches()) {
            MicroBatch m = PackedBatches.microBatch(rows, packs, padTokenId);
            micro.add(m);
            targets += m.targets();
        }
        return new StepBatches(s, micro, targets);
    }

    /** Every micro-batch of the epoch padded to its longest pack, from the packs' token counts. */
    @Override
    public Padding padding(int epoch) {
        Packs packs = packsOf(epoch);
        return Padding.ofEpoch(plan.order(epoch), plan.rowsPerStep(), plan.microBatchSize(), packs::tokens);
    }

    /** Epoch {@code epoch}'s packs in the packer's list order (the plan's order of packs indexes this list). */
    public synchronized Packs packsOf(int epoch) {
        if (epoch != cachedEpoch) {
            Packs packs = Packer.pack(rows, EpochOrder.of(rows.size(), shuffle, seed, epoch), seqLen);
            if (plan != null && packs.count() != plan.rows()) {
                throw new IllegalStateException("epoch " + epoch + " has " + packs.count() + " packs, epoch 0 had " + plan.rows());
            }
            cachedPacks = packs;
            cachedEpoch = epoch;
        }
        return cachedPacks;
    }
}
