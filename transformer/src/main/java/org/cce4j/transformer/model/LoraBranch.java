package org.cce4j.transformer.model;

import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

/**
 * A LoRA adapter on one projection, as PEFT computes it: {@code y = W·x + s·B·(A·dropout(x))} with
 * A [r, in], B [out, r] and s = alpha / r (or alpha / √r with rsLoRA). The base W stays frozen and
 * shared; only A and B are trainable. What the backward needs is one [M, r] activation:
 * <pre>
 *   xd = dropout(x)          [M, in]   regenerated in the backward from its seed, never kept
 *   h  = s · xd·Aᵀ           [M, r]    kept (scaled, so that dB = dyᵀ·h and the branch adds h·Bᵀ)
 *   y += h·Bᵀ                [M, out]
 * backward, given dy [M, out]:
 *   dB += dyᵀ·h              dh = s · dy·B          [M, r]
 *   dA += dhᵀ·xd             dx += dropout(dh·A)    (the same mask; one pass: Backend.dropoutAdd)
 * </pre>
 */
public final class LoraBranch {
    private final Parameter a, b;
    private final float scaling;
    private final float dropout;

    public LoraBranch(Parameter a, Parameter b, double scaling, double dropout) {
        if (a.value().rank() != 2 || b.value().rank() != 2 || a.value().dim(0) != b.value().dim(1)) {
            throw new IllegalArgumentException("LoRA A " + a.value() + " and B " + b.value() + " do not form B·A");
        }
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        this.a = a;
        this.b = b;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
    }

    public Parameter a() {
        return a;
    }

    public Parameter b() {
        return b;
    }

    public int rank() {
        return (int) a.value().dim(0);
    }

    public float scaling() {
        return scaling;
    }

    public float dropout() {
        return dropout;
    }

    /** y += s·B·A·dropout(x); returns h = s·dropout(x)·Aᵀ [M, r], allocated in {@code mem} (kept for the backward). */
    Tensor forward(Backend be, Scratch mem, Tensor x, Tensor y, long seed) {
        return forward(be, mem, x, y, seed, true);
    }

    /** The same; without {@code applyDropout} (inference, PEFT's eval mode) the input is not dropped out. */
    Tensor forward(Backend be, Scratch mem, Tensor x, Tensor y, long seed, boolean applyDropout) {
        int m = Math.toIntExact(x.numel() / x.dim(-1));
        Tensor h = mem.alloc(m, rank());
        if (dropout > 0 && applyDropout) {
            try (Scratch tmp = new Scratch(be)) {
                Tensor xd = tmp.alloc(x.shape());
                be.dropout(x, xd, dropout, seed);
                be.linear(xd, a.value(), null, h);
            }
        } else {
            be.linear(x, a.value(), null, h);
        }
        be.scale(h, scaling);
        be.linearAccumulate(h, b.value(), y);
        return h;
    }

    /** Accumulates dA and dB and adds the branch's share of dx (dx must already hold the base's). */
    void backward(Backend be, Tensor dy, Tensor x, Tensor h, Tensor dx, long seed) {
        int m = Math.toIntExact(x.numel() / x.dim(-1));
        try (Scratch tmp = new Scratch(be)) {
            Tensor dh = tmp.alloc(m, rank());
            be.linearBackward(dy, h, b.value(), dh, false, b.gradOrNull(), null);
            be.scale(dh, scaling);
            if (dropout > 0) {
                Tensor xd = tmp.alloc(x.shape());
                be.dropout(x, xd, dropout, seed);
                Tensor dxd = dx == null ? null : tmp.alloc(x.shape());
                be.linearBackward(dh, xd, a.value(), dxd, false, a.gradOrNull(), null);
                if (dxd != null) be.dropoutAdd(dxd, dx, dropout, seed);
            } else {
                be.linearBackward(dh, x, a.value(), dx, true, a.gradOrNull(), null);
            }
        }
    }
}
