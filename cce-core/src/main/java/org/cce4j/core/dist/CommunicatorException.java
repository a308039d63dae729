package org.cce4j.core.dist;

/**
 * A collective operation that failed on this rank or on another one: an NCCL error, a timeout, a peer
 * that closed its connection. The message names the operation and the rank, in one line, because it is
 * what every rank of a failed job prints before it exits.
 */
public final class CommunicatorException extends RuntimeException {
    public CommunicatorException(String message) {
        super(message);
    }

    public CommunicatorException(String message, Throwable cause) {
        super(message, cause);
    }
}
