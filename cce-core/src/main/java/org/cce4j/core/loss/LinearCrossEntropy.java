package org.cce4j.core.loss;

import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

/**
 * The linear-cross-entropy loss: cross-entropy of softcap(E·Cᵀ + b) against targets, with an
 * explicit forward and backward. One contract, several implementations ({@link CceImpl}) on
 * several devices, so that every comparison (memory, time, convergence) is on one API.
 * <pre>
 *   LinearCrossEntropy loss = LinearCrossEntropy.create(CceImpl.CCE, Device.CPU);
 *   try (CceForward f = loss.forward(CceInputs.of(e, c, targets), CceOptions.defaults());
 *        CceGradients g = loss.backward(f, 1f)) { ... f.lossValue(), g.dEmbeddings() ... }
 * </pre>
 */
public interface LinearCrossEntropy {

    CceForward forward(CceInputs inputs, CceOptions options);

    /**
     * The gradients of the loss times {@code upstream}: a scalar for mean and sum, one value per row
     * (the leading shape of E) for none.
     *
     * @param into null to allocate fresh f32 gradients (dBias only with a bias); otherwise its non-null
     *             tensors are accumulated into and returned, and its null ones are not computed
     */
    CceGradients backward(CceForward forward, Tensor upstream, CceGradients into);

    /** Backward of a mean or sum loss with a scalar upstream gradient, into fresh tensors. */
    default CceGradients backward(CceForward forward, float upstream) {
        try (Tensor up = Tensor.scalar(upstream)) {
            return backward(forward, up, null);
        }
    }

    /** The implementation {@code impl} on {@code device}, from the {@link LossProvider} that supports it. */
    static LinearCrossEntropy create(CceImpl impl, Device device) {
        return LossProviders.forDevice(device).create(impl, device);
    }
}
