package org.cce4j.transformer.backend;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.DeviceBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Device copies of the host arrays a batch brings (token ids, positions, document ids, the padding
 * mask), uploaded once per batch rather than once per layer: an upload synchronizes the stream, and
 * every layer passes the same arrays. Entries are keyed by the array's identity and checked against
 * its content hash, so an array changed in place is uploaded again; the last few are kept.
 */
final class DeviceArrays implements AutoCloseable {
    private static final int KEEP = 16;

    /** Document bounds on the device: ids, each token's first key and one past its last query. */
    record Documents(long docs, long kvLo, long qHi) {}

    private record Entry(Object key, int hash, String kind, DeviceBuffer[] buffers, Object value) {}

    private final CudaDevice dev;
    private final ArrayDeque<Entry> entries = new ArrayDeque<>();

    DeviceArrays(CudaDevice dev) {
        this.dev = dev;
    }

    /** int32 copy of a host int array. */
    long ints(int[] a) {
        return (long) lookup(a, Arrays.hashCode(a), "ints", () -> {
            DeviceBuffer b = dev.uploadInts(a);
            return new Entry(a, Arrays.hashCode(a), "ints", new DeviceBuffer[] {b}, b.pointer());
        });
    }

    /** One byte per element, 1 for true. */
    long bytes(boolean[] a) {
        return (long) lookup(a, Arrays.hashCode(a), "bytes", () -> {
            DeviceBuffer b = dev.buffer(Math.max(1, a.length));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment m = arena.allocate(Math.max(1, a.length));
                for (int i = 0; i < a.length; i++) m.set(ValueLayout.JAVA_BYTE, i, (byte) (a[i] ? 1 : 0));
                dev.copyToDevice(m, b.pointer(), a.length);
            }
            return new Entry(a, Arrays.hashCode(a), "bytes", new DeviceBuffer[] {b}, b.pointer());
        });
    }

    /** The documents of a batch of sequences of length T, with the bounds the attention kernels skip tiles by. */
    Documents documents(int[] docs, int seqLen) {
        int hash = Arrays.hashCode(docs) * 31 + seqLen;
        return (Documents) lookup(docs, hash, "documents", () -> {
            int[][] bounds = bounds(docs, seqLen);
            DeviceBuffer d = dev.uploadInts(docs), lo = dev.uploadInts(bounds[0]), hi = dev.uploadInts(bounds[1]);
            return new Entry(docs, hash, "documents", new DeviceBuffer[] {d, lo, hi}, new Documents(d.pointer(), lo.pointer(), hi.pointer()));
        });
    }

    /**
     * Per 64-token block of each sequence ([batch][ceil(T/64)]): the block's document when every token
     * of it exists, is not padding and belongs to that one document (0 without documents), else −1 (also
     * for negative document ids). The tensor-core attention skips the per-element mask on such blocks.
     * 0 (no array) when there are neither documents nor padding.
     */
    long blockDocuments(int[] docs, boolean[] keyMask, int batch, int seqLen) {
        if (docs == null && keyMask == null) return 0;
        Object key = docs != null ? docs : keyMask;
        int hash = (Arrays.hashCode(docs) * 31 + Arrays.hashCode(keyMask)) * 31 + seqLen;
        return (long) lookup(key, hash, "blocks", () -> {
            DeviceBuffer b = dev.uploadInts(blockDocuments(docs, keyMask, batch, seqLen, 64));
            return new Entry(key, hash, "blocks", new DeviceBuffer[] {b}, b.pointer());
        });
    }

    static int[] blockDocuments(int[] docs, boolean[] keyMask, int batch, int seqLen, int block) {
        int blocks = (seqLen + block - 1) / block;
        int[] out = new int[batch * blocks];
        for (int b = 0; b < batch; b++) {
            for (int k = 0; k < blocks; k++) {
                int start = b * seqLen + k * block;
                int doc = -1;
                if ((k + 1) * block <= seqLen) {
                    doc = docs == null ? 0 : docs[start];
                    for (int i = start; i < start + block && doc >= 0; i++) {
                        if ((keyMask != null && !keyMask[i]) || (docs != null && docs[i] != doc)) doc = -1;
                    }
                }
                out[b * blocks + k] = Math.max(doc, -1);
            }
        }
        return out;
    }

    /**
     * Per token (index within its sequence): kvLo = the first position of the sequence with the same
     * document id, qHi = one past the last such position.
     */
    static int[][] bounds(int[] docs, int seqLen) {
        int[] lo = new int[docs.length], hi = new int[docs.length];
        for (int start = 0; start < docs.length; start += seqLen) {
            Map<Integer, Integer> first = new HashMap<>(), last = new HashMap<>();
            for (int i = 0; i < seqLen; i++) {
                first.putIfAbsent(docs[start + i], i);
                last.put(docs[start + i], i);
            }
            for (int i = 0; i < seqLen; i++) {
                lo[start + i] = first.get(docs[start + i]);
                hi[start + i] = last.get(docs[start + i]) + 1;
            }
        }
        return new int[][] {lo, hi};
    }

    private interface Maker {
        Entry make();
    }

    private Object lookup(Object key, int hash, String kind, Maker maker) {
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.key() == key && e.kind().equals(kind)) {
                if (e.hash() == hash) return e.value();
                it.remove();
                free(e);
                break;
            }
        }
        Entry e = maker.make();
        entries.addFirst(e);
        while (entries.size() > KEEP) free(entries.removeLast());
        return e.value();
    }

    private static void free(Entry e) {
        for (DeviceBuffer b : e.buffers()) b.close();
    }

    @Override
    public void close() {
        entries.forEach(DeviceArrays::free);
        entries.clear();
    }
}
