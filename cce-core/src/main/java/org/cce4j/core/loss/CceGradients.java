package org.cce4j.core.loss;

import org.cce4j.core.tensor.Tensor;

/**
 * Gradients of the loss, always f32: dE [..., D], dC [V, D], dBias [V] (null without a bias).
 * Passed to a backward as the destination, its non-null tensors are accumulated into (+=) and its
 * null ones are not computed (a frozen classifier costs no dC work).
 */
public record CceGradients(Tensor dEmbeddings, Tensor dClassifier, Tensor dBias) implements AutoCloseable {

    @Override
    public void close() {
        if (dEmbeddings != null) dEmbeddings.close();
        if (dClassifier != null) dClassifier.close();
        if (dBias != null) dBias.close();
    }
}
