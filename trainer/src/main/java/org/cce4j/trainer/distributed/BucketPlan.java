package org.cce4j.trainer.distributed;

import java.util.ArrayList;
import java.util.List;

/**
 * How a step's gradients travel: the trainable parameters, in the order the backward finishes them
 * (the head and final norm, the layers from last to first, the embedding), cut into buckets of about
 * {@code capBytes} of f32 gradients. A bucket is reduced as one flat tensor as soon as its last
 * parameter is final, so the reduction of the upper layers overlaps the backward of the lower ones
 * (PyTorch DDP's scheme; 25 MB is its default). A parameter is never split: one larger than the cap
 * is a bucket of its own.
 * <pre>
 *   bucket k: [ p_i | p_i+1 | ... | p_j ]   f32, offsets in elements; ready when p_j is
 * </pre>
 */
public record BucketPlan(List<Bucket> buckets) {
    /** PyTorch DDP's default bucket size. */
    public static final long DEFAULT_CAP_BYTES = 25L << 20;

    /** Parameter {@code param} (its index in the readiness order) at {@code offset} of its bucket. */
    public record Slot(int param, long offset, long numel) {}

    /** The slots of one bucket and its total element count. */
    public record Bucket(List<Slot> slots, long numel) {
        public Bucket {
            slots = List.copyOf(slots);
        }

        /** The readiness index of its last parameter: the bucket is ready once that one is. */
        public int lastParam() {
            return slots.get(slots.size() - 1).param();
        }
    }

    public BucketPlan {
        buckets = List.copyOf(buckets);
    }

    /** Buckets of parameters of {@code numels} elements (readiness order), each closed once it holds at least {@code capBytes} of f32. */
    public static BucketPlan of(long[] numels, long capBytes) {
        if (capBytes <= 0) throw new IllegalArgumentException("bucket cap " + capBytes);
        List<Bucket> out = new ArrayList<>();
        List<Slot> slots = new ArrayList<>();
        long n = 0;
        for (int i = 0; i < numels.length; i++) {
            slots.add(new Slot(i, n, numels[i]));
            n += numels[i];
            if (4 * n >= capBytes) {
                out.add(new Bucket(slots, n));
                slots.clear();
                n = 0;
            }
        }
        if (!slots.isEmpty()) out.add(new Bucket(slots, n));
        return new BucketPlan(out);
    }

    /** For each parameter (readiness index), its bucket. */
    public int[] bucketOf(int params) {
        int[] b = new int[params];
        for (int k = 0; k < buckets.size(); k++) for (Slot s : buckets.get(k).slots()) b[s.param()] = k;
        return b;
    }
}
