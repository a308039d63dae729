package org.cce4j.transformer.backend;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.HostMemory;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The CPU backend's block cache: a block given back serves the next tensor of its byte size, others get fresh memory. */
class HostBlockCacheTest {
    @Test
    void aGivenBackBlockIsReusedForTheSameByteSizeOnly() {
        HostBlockCache cache = new HostBlockCache();
        Tensor a = cache.take(DType.F32, 4, 8);
        a.setFloat(3, 2.5f);
        long address = a.data().address();
        a.close();
        a.close();   // a second close gives nothing back twice
        try (Tensor b = cache.take(DType.F32, 32); Tensor c = cache.take(DType.F32, 32); Tensor d = cache.take(DType.F64, 3)) {
            assertEquals(address, b.data().address(), "the block of the same byte size comes back");
            assertEquals(2.5f, b.getFloat(3), "uninitialized: the previous contents are still there");
            assertNotEquals(address, c.data().address(), "a block serves one tensor at a time");
            assertArrayEquals(new long[] {3}, d.shape());
            assertEquals(24, d.byteSize());
        }
        cache.clear();
    }

    @Test
    void blocksBeyondTheCapAreFreedNotCached() {
        HostBlockCache cache = new HostBlockCache();
        long n = HostBlockCache.CAP_BYTES / 4 / 2 + 1, bytes = 4 * n;   // two of these exceed the cap
        long before = HostMemory.bytesInUse();
        Tensor a = cache.take(DType.F32, n), b = cache.take(DType.F32, n);
        assertEquals(before + 2 * bytes, HostMemory.bytesInUse());
        a.close();
        assertEquals(before + 2 * bytes, HostMemory.bytesInUse(), "cached: still held");
        b.close();
        assertEquals(before + bytes, HostMemory.bytesInUse(), "over the cap: freed");
        Tensor c = cache.take(DType.F32, n);
        assertEquals(before + bytes, HostMemory.bytesInUse(), "served from the cache");
        c.close();
        cache.clear();
        assertEquals(before, HostMemory.bytesInUse(), "cleared");
    }
}
