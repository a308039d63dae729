package org.cce4j.core.dist;

import org.cce4j.core.InvalidInputException;

import java.time.Duration;
import java.util.Map;

/**
 * Where and how the ranks of a multi-process job meet: rank 0 listens on {@code masterAddr:masterPort}
 * and the others connect to it, with the variable names torchrun uses (MASTER_ADDR, MASTER_PORT, RANK,
 * WORLD_SIZE), so that one launcher serves both.
 *
 * @param connectTimeout how long the ranks keep trying to meet (rank 0 waiting for the others, the others retrying)
 * @param operationTimeout how long a rank waits for the others inside one operation before the job fails
 */
public record TcpSetup(String masterAddr, int masterPort, int rank, int size, Duration connectTimeout, Duration operationTimeout) {
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(300);
    public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(300);

    public TcpSetup {
        if (size < 1) throw new IllegalArgumentException("world size must be >= 1, got " + size);
        if (rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " is outside [0, " + size + ")");
        if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException("port " + masterPort + " is outside [1, 65535]");
        if (connectTimeout.isNegative() || connectTimeout.isZero() || operationTimeout.isNegative() || operationTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
    }

    /** With the default timeouts (300 s each). */
    public static TcpSetup of(String masterAddr, int masterPort, int rank, int size) {
        return new TcpSetup(masterAddr, masterPort, rank, size, DEFAULT_CONNECT_TIMEOUT, DEFAULT_OPERATION_TIMEOUT);
    }

    public TcpSetup withTimeouts(Duration connect, Duration operation) {
        return new TcpSetup(masterAddr, masterPort, rank, size, connect, operation);
    }

    /** From MASTER_ADDR (default 127.0.0.1), MASTER_PORT, RANK and WORLD_SIZE; a missing or bad one is a user error naming it. */
    public static TcpSetup fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static TcpSetup fromEnvironment(Map<String, String> env) {
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        int port = number(env, "MASTER_PORT");
        int size = number(env, "WORLD_SIZE");
        int rank = number(env, "RANK");
        if (port < 1 || port > 65535) throw new InvalidInputException("MASTER_PORT=" + port + " is outside [1, 65535]");
        if (size < 1) throw new InvalidInputException("WORLD_SIZE=" + size + " must be >= 1");
        if (rank < 0 || rank >= size) throw new InvalidInputException("RANK=" + rank + " is outside [0, WORLD_SIZE=" + size + ")");
        return of(addr, port, rank, size);
    }

    private static int number(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) throw new InvalidInputException(name + " is not set (a multi-process job needs MASTER_PORT, RANK and WORLD_SIZE)");
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException(name + "=" + v + " is not a number");
        }
    }

    static String text(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
