package org.cce4j.core.loss;

import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The reduced loss of a forward: read once when first asked for, never after its memory is released. */
class CceForwardLossValueTest {
    private static CceForward forward(java.util.function.DoubleSupplier source) {
        return new CceForward(null, CceOptions.defaults(), null, Tensor.scalar(0f), Tensor.of(new float[] {1f}, 1),
                Tensor.of(new float[] {2f}, 1), source, null);
    }

    @Test
    void aLazyLossIsReadOnceAndKept() {
        AtomicInteger reads = new AtomicInteger();
        CceForward f = forward(() -> {
            reads.incrementAndGet();
            return 2.5;
        });
        assertEquals(0, reads.get(), "nothing is read before it is asked for");
        assertEquals(2.5f, f.lossValue());
        assertEquals(2.5f, f.lossValue());
        assertEquals(1, reads.get());
        f.close();
        assertEquals(2.5f, f.lossValue(), "a value read before close stays available");
    }

    @Test
    void aLazyLossFirstAskedForAfterCloseIsRefused() {
        CceForward f = forward(() -> 1.0);
        f.close();
        assertThrows(IllegalStateException.class, f::lossValue);
    }

    @Test
    void aKnownLossStaysAvailableAfterClose() {
        CceForward f = new CceForward(null, CceOptions.defaults(), null, Tensor.scalar(3f), Tensor.of(new float[] {1f}, 1),
                Tensor.of(new float[] {2f}, 1), 3f, null);
        f.close();
        assertEquals(3f, f.lossValue());
    }
}
