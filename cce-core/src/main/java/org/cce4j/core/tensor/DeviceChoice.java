package org.cce4j.core.tensor;

/** A device picked for a run, and why (printed with --verbose). */
public record DeviceChoice(Device device, String reason) {}
