package org.cce4j.core.tensor;

import java.util.Locale;

/** Where a tensor's memory lives: host memory, or the memory of one CUDA device. */
public sealed interface Device permits Device.Cpu, Device.Cuda {

    Device CPU = new Cpu();

    record Cpu() implements Device {
        @Override
        public String toString() {
            return "cpu";
        }
    }

    record Cuda(int ordinal) implements Device {
        public Cuda {
            if (ordinal < 0) {
                throw new IllegalArgumentException("CUDA device ordinal must be >= 0, got " + ordinal);
            }
        }

        @Override
        public String toString() {
            return "cuda:" + ordinal;
        }
    }

    default boolean isCpu() {
        return this instanceof Cpu;
    }

    /** "cpu", "cuda" (device 0) or "cuda:N". */
    static Device parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) {
            return CPU;
        }
        if (t.equals("cuda")) {
            return new Cuda(0);
        }
        if (t.startsWith("cuda:")) {
            try {
                return new Cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
    }
}
