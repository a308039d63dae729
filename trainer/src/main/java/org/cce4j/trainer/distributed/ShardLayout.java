package org.cce4j.trainer.distributed;

import java.util.ArrayList;
import java.util.List;

/**
 * ZeRO-1's split of a gradient bucket over the ranks: the bucket's n elements, padded with zeros to
 * N·s (s = ⌈n / N⌉), are N equal shards, rank r owning elements [r·s, (r+1)·s) — the layout a
 * reduce-scatter delivers and an all-gather collects. A shard cuts through parameters where it falls,
 * so a rank's shard is a list of segments, each a contiguous range of one parameter's elements:
 * <pre>
 *   bucket   [ p0 . . . . | p1 . . . . . . . | p2 . . ] 0 0     (n = 19, N = 3, s = 7, 2 of padding)
 *   shards   [ rank 0      ][ rank 1      ][ rank 2      ]
 *   rank 1   p0[5, 6) at 0, p1[0, 6) at 1
 * </pre>
 * Balanced to the element (N − 1 padding elements at most per bucket), whatever the parameters' sizes.
 */
public final class ShardLayout {
    private ShardLayout() {}

    /** Parameter {@code param} (readiness index), its elements [from, to), at {@code shardOffset} of the rank's shard. */
    public record Segment(int param, long from, long to, long shardOffset) {
        public long numel() {
            return to - from;
        }
    }

    /** s: the elements of each rank's shard of a bucket of {@code numel} elements. */
    public static long shardSize(long numel, int ranks) {
        return (numel + ranks - 1) / ranks;
    }

    /** The segments of {@code rank}'s shard of {@code bucket}, in bucket order. */
    public static List<Segment> segments(BucketPlan.Bucket bucket, int rank, int ranks) {
        long s = shardSize(bucket.numel(), ranks), lo = rank * s, hi = lo + s;
        List<Segment> out = new ArrayList<>();
        for (BucketPlan.Slot slot : bucket.slots()) {
            long a = Math.max(lo, slot.offset()), b = Math.min(hi, slot.offset() + slot.numel());
            if (a < b) out.add(new Segment(slot.param(), a - slot.offset(), b - slot.offset(), a - lo));
        }
        return out;
    }
}
