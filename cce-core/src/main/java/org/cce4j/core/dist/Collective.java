package org.cce4j.core.dist;

import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

/**
 * The collective operations by the names their errors use ("all-reduce #17"), and the argument checks
 * every implementation makes before it involves the other ranks, so that CPU and NCCL refuse the same
 * calls with the same words.
 */
public enum Collective {
    ALL_REDUCE("all-reduce"),
    REDUCE_SCATTER("reduce-scatter"),
    ALL_GATHER("all-gather"),
    BROADCAST("broadcast"),
    BARRIER("barrier"),
    /** The bootstrap's exchange of bytes from rank 0 (NCCL's unique id). */
    BYTES("rendezvous");

    private final String label;

    Collective(String label) {
        this.label = label;
    }

    /** "all-reduce", "reduce-scatter" ... */
    public String label() {
        return label;
    }

    /** "all-reduce #17": the name of the {@code sequence}-th operation of a communicator (counted from 1). */
    public String nth(long sequence) {
        return label + " #" + sequence;
    }

    /**
     * Checks the tensors of one call: {@code in} and {@code out} of one dtype and device, and the sizes
     * of the contract ({@link Communicator}); {@code out} is null for in-place operations.
     * @return null when they fit, else the reason in a few words
     */
    public static String mismatch(Collective op, Tensor in, Tensor out, int size) {
        if (op == BARRIER || op == BYTES) return null;
        if (in == null) return "no tensor";
        if (out != null && in.dtype() != out.dtype()) return "in is " + in.dtype().shortName() + " but out is " + out.dtype().shortName();
        if (out != null && !in.device().equals(out.device())) return "in is on " + in.device() + " but out is on " + out.device();
        return switch (op) {
            case REDUCE_SCATTER -> in.numel() == (long) size * out.numel() ? null
                    : "in " + Shapes.toString(in.shape()) + " must hold " + size + " × out " + Shapes.toString(out.shape()) + " elements";
            case ALL_GATHER -> out.numel() == (long) size * in.numel() ? null
                    : "out " + Shapes.toString(out.shape()) + " must hold " + size + " × in " + Shapes.toString(in.shape()) + " elements";
            default -> null;
        };
    }
}
