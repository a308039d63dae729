package org.cce4j.transformer.backend;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.testing.RelativeError;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The CPU's decode attention (one query over the rows of a cache) against its prefill attention: for
 * a sequence of T tokens, the last row of the causal (and windowed) attention equals the decode of
 * the last query over the keys it sees, stored in a rotated order as a sliding-window ring stores
 * them. Both are f32 with f64 sums; only the order of the sums differs.
 */
class DecodeAttentionTest {
    private final CpuBackend cpu = new CpuBackend();
    private final SplittableRandom rnd = new SplittableRandom(5);

    private Tensor random(double scale, long... shape) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    @Test
    void theDecodeOfTheLastQueryIsTheLastRowOfTheCausalAttention() {
        int[][] cases = {  // T, heads, kvHeads, headDim, window, softcap
                {1, 2, 2, 16, 0, 0}, {23, 4, 2, 16, 0, 0}, {23, 4, 1, 24, 5, 0}, {40, 6, 3, 32, 9, 3}, {64, 2, 2, 64, 64, 0}};
        for (int[] c : cases) {
            int t = c[0], heads = c[1], kvHeads = c[2], hd = c[3], window = c[4];
            float scale = (float) (1 / Math.sqrt(hd));
            AttentionShape full = new AttentionShape(1, t, heads, kvHeads, hd, scale, c[5], window, null, null);
            int keys = window > 0 ? Math.min(window, t) : t;
            try (Tensor q = random(c[5] > 0 ? 3 : 1, t, heads * hd); Tensor k = random(1, t, kvHeads * hd); Tensor v = random(1, t, kvHeads * hd);
                 Tensor out = Tensor.zeros(DType.F32, t, heads * hd); Tensor lse = Tensor.zeros(DType.F32, t, heads);
                 Tensor kc = Tensor.zeros(DType.F32, keys, kvHeads * hd); Tensor vc = Tensor.zeros(DType.F32, keys, kvHeads * hd);
                 Tensor dec = Tensor.zeros(DType.F32, 1, heads * hd)) {
                cpu.attention(full, q, k, v, out, lse);
                for (int p = t - keys; p < t; p++) {   // position p in slot p mod keys, as the ring keeps it
                    int slot = p % keys;
                    kc.slice(slot, slot + 1).copyFrom(k.slice(p, p + 1));
                    vc.slice(slot, slot + 1).copyFrom(v.slice(p, p + 1));
                }
                cpu.decodeAttention(DecodeShape.of(full, keys), q.slice(t - 1, t), kc, vc, dec);
                try (Tensor last = out.slice(t - 1, t).to(DType.F32)) {
                    RelativeError.assertClose(last.toDoubleArray(), dec.toDoubleArray(), 1e-6,
                            "T " + t + ", " + heads + "/" + kvHeads + " heads of " + hd + ", window " + window + ", softcap " + c[5]);
                }
            }
        }
    }

    @Test
    void aDecodeNeedsKeysThatTheCacheHolds() {
        assertThrows(IllegalArgumentException.class, () -> new DecodeShape(4, 2, 16, 1f, 0f, 0));
        try (Tensor q = Tensor.zeros(DType.F32, 1, 64); Tensor k = Tensor.zeros(DType.F32, 3, 32); Tensor out = Tensor.zeros(DType.F32, 1, 64)) {
            assertThrows(IllegalArgumentException.class, () -> cpu.decodeAttention(new DecodeShape(4, 2, 16, 1f, 0f, 4), q, k, k, out));
        }
    }
}
