package org.cce4j.transformer.model;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

import java.util.ArrayList;
import java.util.List;

/**
 * Tensors allocated for one pass and freed together: what a layer keeps is visible in one place.
 * Every tensor here is the output of an operation that writes all of it, so none is zero-filled.
 */
final class Scratch implements AutoCloseable {
    private final Backend backend;
    private final List<Tensor> owned = new ArrayList<>();

    Scratch(Backend backend) {
        this.backend = backend;
    }

    Tensor alloc(long... shape) {
        Tensor t = backend.empty(backend.computeDType(), shape);
        owned.add(t);
        return t;
    }

    Tensor allocF32(long... shape) {
        Tensor t = backend.empty(DType.F32, shape);
        owned.add(t);
        return t;
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
        owned.clear();
    }
}
