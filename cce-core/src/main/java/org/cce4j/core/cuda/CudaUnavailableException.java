package org.cce4j.core.cuda;

/** No usable CUDA device: the driver library is missing, it has no device, or the ordinal is out of range. */
public final class CudaUnavailableException extends CudaException {
    public CudaUnavailableException(String reason) {
        super(reason);
    }

    public CudaUnavailableException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
