package org.cce4j.transformer.lora;

import org.cce4j.checkpoints.peft.LoraAdapter;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.cpu.CpuGemm;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

/**
 * Folds a LoRA adapter into its base weight, as PEFT's {@code merge_and_unload} does:
 * {@code W' = W + s·B·A} with s the adapter's scaling for that module, computed in f32 (the base
 * weight widened, the product by cce-core's sgemm), then stored back in the base's dtype.
 */
public final class LoraMerge {
    private LoraMerge() {}

    /** W [out, in] (any float dtype) plus s·B·A, as a new host tensor of W's dtype. */
    public static Tensor merged(Tensor weight, LoraAdapter.Pair pair, double scaling) {
        long out = weight.dim(0), in = weight.dim(1), r = pair.rank();
        if (pair.b().dim(0) != out || pair.a().dim(1) != in) {
            throw new IllegalArgumentException("LoRA B·A is [" + pair.b().dim(0) + ", " + pair.a().dim(1) + "], the weight [" + out + ", " + in + "]");
        }
        try (Tensor w = weight.to(DType.F32); Tensor a = pair.a().to(DType.F32); Tensor bs = pair.b().to(DType.F32)) {
            float s = (float) scaling;
            for (long i = 0; i < bs.numel(); i++) bs.setFloat(i, bs.getFloat(i) * s);
            // w += (s·B)[out, r] · A[r, in]
            CpuGemm.gemm(false, false, (int) out, (int) in, (int) r, bs.data(), 0, (int) r, a.data(), 0, (int) in, 1f, w.data(), 0, (int) in);
            return w.to(weight.dtype());
        }
    }

    /** The scaling PEFT applies to a module of this adapter. */
    public static double scaling(LoraConfig config, String module) {
        return config.scaling(module);
    }
}
