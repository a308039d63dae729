package org.cce4j.core.loss.cpu;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The CPU kernels read f32 only: E and C as they are when already f32, otherwise converted once
 * into temporary f32 copies (freed with the forward); the bias as a Java array (O(V)).
 */
record F32Operands(MemorySegment e, MemorySegment c, float[] bias, Tensor ownedE, Tensor ownedC) implements AutoCloseable {

    static F32Operands of(CceInputs in) {
        requireHost(in.embeddings(), "embeddings");
        requireHost(in.classifier(), "classifier");
        Tensor e = in.embeddings().dtype() == DType.F32 ? null : in.embeddings().to(DType.F32);
        Tensor c = in.classifier().dtype() == DType.F32 ? null : in.classifier().to(DType.F32);
        float[] bias = null;
        if (in.bias() != null) {
            requireHost(in.bias(), "bias");
            bias = in.bias().toFloatArray();
        }
        return new F32Operands(e != null ? e.data() : in.embeddings().data(),
                c != null ? c.data() : in.classifier().data(), bias, e, c);
    }

    private static void requireHost(Tensor t, String name) {
        if (!t.device().isCpu()) {
            throw new InvalidInputException(name + " are on " + t.device() + "; the CPU loss needs host tensors");
        }
    }

    @Override
    public void close() {
        if (ownedE != null) ownedE.close();
        if (ownedC != null) ownedC.close();
    }
}
