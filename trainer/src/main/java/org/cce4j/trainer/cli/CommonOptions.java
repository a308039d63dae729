package org.cce4j.trainer.cli;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.device.DeviceChoice;
import org.cce4j.core.device.Devices;
import org.cce4j.core.tensor.Device;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/**
 * Options every command shares: where to run and how much to say. An asked-for CUDA device is opened
 * when the device is chosen, before any work, so that every command says "not usable" the same way.
 */
public final class CommonOptions {
    @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N",
            description = "Where to compute (default: cuda when one is usable, else cpu).")
    String device;

    @Option(names = "--verbose", description = "Say which device was chosen and why; show stack traces of errors.")
    boolean verbose;

    /** The device to use, explained on stderr with --verbose. */
    DeviceChoice chooseDevice(PrintWriter err) {
        DeviceChoice choice;
        try {
            choice = Devices.choose(device);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(e.getMessage());
        }
        Devices.requireUsable(choice.device());
        if (verbose) {
            err.println("device: " + choice.device() + " (" + choice.reason() + ")");
            err.flush();
        }
        return choice;
    }
}
