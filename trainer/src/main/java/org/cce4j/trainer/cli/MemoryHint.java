package org.cce4j.trainer.cli;

/**
 * A command that can run out of memory for its sizes says which options make it smaller, so that an
 * OutOfMemoryError becomes one line naming them and how to raise the Java heap (Main).
 */
interface MemoryHint {
    /** The options (or input dimensions) to lower, e.g. "--n or --v". */
    String toLowerMemory();
}
