package org.cce4j.core.device;

import org.cce4j.core.cuda.CudaUnavailableException;
import org.cce4j.core.cuda.Nccl;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On any machine: the NCCL communicator's class loads, and asking it for a unique id either works
 * (NCCL is installed) or fails with the binding's one line saying where NCCL was looked for.
 */
class NcclCommunicatorLoadingTest {

    @Test
    void aMissingNcclIsOneClearLine() {
        byte[] id;
        try {
            id = NcclCommunicator.newUniqueId();
        } catch (CudaUnavailableException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().startsWith("NCCL not found: tried "), e.getMessage());
            return;
        }
        assertEquals(Nccl.UNIQUE_ID_BYTES, id.length);
    }
}
