package org.cce4j.core.loss;

import org.cce4j.core.tensor.Device;

/**
 * The implementations of the loss on one kind of device, found by {@link LinearCrossEntropy#create}
 * through {@link java.util.ServiceLoader} ({@code META-INF/services/org.cce4j.core.loss.LossProvider}).
 * The API package never imports an implementation, so the implementations may depend on it without
 * a package cycle, and a device kind added later is one more provider (docs/design.md, "the loss").
 */
public interface LossProvider {

    /** Whether this provider computes on {@code device}. */
    boolean supports(Device device);

    /** The implementation {@code impl} on {@code device}; a device that cannot be used is an {@code InvalidInputException}. */
    LinearCrossEntropy create(CceImpl impl, Device device);
}
