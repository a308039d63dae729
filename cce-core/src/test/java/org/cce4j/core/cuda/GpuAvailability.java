package org.cce4j.core.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** GPU tests call {@link #require()} first: they are skipped, with the reason, where no CUDA device is usable. */
public final class GpuAvailability {
    private static volatile String reason;

    private GpuAvailability() {}

    /** Null when cuda:0 is usable, else why not. */
    public static String unusableReason() {
        String r = reason;
        if (r == null) {
            try {
                CudaDevice.get(0);
                r = "";
            } catch (CudaException | LinkageError e) {
                r = e.getMessage();
            }
            reason = r;
        }
        return r.isEmpty() ? null : r;
    }

    public static CudaDevice require() {
        String r = unusableReason();
        assumeTrue(r == null, () -> "no usable CUDA device: " + r);
        return CudaDevice.get(0);
    }
}
