package org.cce4j.core.device;

import org.cce4j.core.tensor.Device;

/** A device picked for a run, and why (printed with --verbose). */
public record DeviceChoice(Device device, String reason) {}
