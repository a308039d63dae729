package org.cce4j.core.cuda;

/**
 * A CUDA, NVRTC or cuBLAS call that failed: the message names the call and the status by its
 * library name (CUDA_ERROR_OUT_OF_MEMORY, NVRTC_ERROR_COMPILATION, CUBLAS_STATUS_NOT_SUPPORTED ...),
 * so that a failure on a machine nobody can log into still says what went wrong.
 */
public class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
