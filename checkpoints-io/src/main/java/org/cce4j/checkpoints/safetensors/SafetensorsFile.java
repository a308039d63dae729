package org.cce4j.checkpoints.safetensors;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.DTypeConversion;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file mapped into memory. {@link #open} maps the whole file with
 * {@code FileChannel.map(..., Arena)} (no 2 GB limit, no copy: pages come from the page cache
 * when first touched), validates the header completely, and only then hands out tensors:
 * {@link #tensor} is a zero-copy view, {@link #load} a converted copy.
 * <pre>
 *   file:  [ N (u64 LE) | header JSON, N bytes | data section ............................ ]
 *          0            8                      8+N = dataStart                       fileSize
 *   tensor t lives at [dataStart + t.begin, dataStart + t.end)
 * </pre>
 * Opening costs the header's size, not the file's. Views live as long as the file: after
 * {@link #close()} (which unmaps it) any access through them throws {@link IllegalStateException}
 * instead of touching freed memory. Byte order is the platform's, little-endian on every
 * platform the JDK's FFM supports for us (x86-64, AArch64), as the format requires.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long dataStart;
    private final SafetensorsHeader header;
    private final Map<String, TensorInfo> byName;

    private SafetensorsFile(Path path, Arena arena, MemorySegment file, long dataStart, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.dataStart = dataStart;
        this.header = header;
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) m.put(t.name(), t);
        this.byName = Collections.unmodifiableMap(m);
    }

    /** Maps and validates a file; a malformed one throws {@link InvalidInputException} naming the file and the rule. */
    public static SafetensorsFile open(Path path) throws IOException {
        String source = path.toString();
        if (Files.isDirectory(path)) {
            throw new InvalidInputException(source + ": is a directory, not a .safetensors file");
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // A pipe or device would block or stream forever; a checkpoint is a regular file.
            throw new InvalidInputException(source + ": not a regular file");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (NoSuchFileException e) {
                throw new InvalidInputException(source + ": no such file");
            }
            long size = file.byteSize();
            if (size < 8) {
                throw new InvalidInputException(source + ": file has " + size + " bytes, fewer than the 8-byte header length (truncated or not safetensors)");
            }
            long n = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (n < 0 || n > SafetensorsHeader.MAX_HEADER_BYTES) {
                throw new InvalidInputException(source + ": header length " + Long.toUnsignedString(n) + " exceeds the "
                        + SafetensorsHeader.MAX_HEADER_BYTES + "-byte limit (corrupt length or not safetensors)");
            }
            if (n > size - 8) {
                throw new InvalidInputException(source + ": header length " + n + " runs past the end of the file ("
                        + size + " bytes): truncated file or corrupt length");
            }
            SafetensorsHeader header = SafetensorsHeader.parse(source, new SegmentInputStream(file.asSlice(8, n)), size - 8 - n);
            return new SafetensorsFile(path, arena, file, 8 + n, header);
        } catch (RuntimeException | IOException | Error e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public long fileSize() {
        return file.byteSize();
    }

    /** Where the data section starts (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    /** The {@code __metadata__} strings, in file order; empty when absent. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Every tensor, in offset order. */
    public List<TensorInfo> tensors() {
        return header.tensors();
    }

    /** Tensor names in offset order. */
    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) {
            throw new InvalidInputException(path + ": no tensor named '" + name + "' (the file holds " + byName.size() + " tensors)");
        }
        return t;
    }

    /** The raw little-endian bytes of a tensor, any dtype, zero-copy. */
    public MemorySegment bytes(String name) {
        TensorInfo t = info(name);
        return file.asSlice(dataStart + t.begin(), t.byteSize());
    }

    /** A zero-copy host view of a tensor whose dtype cce4j computes with (not F4, F6_*, F8_E8M0, FNUZ, C64). */
    public Tensor tensor(String name) {
        TensorInfo t = info(name);
        return Tensor.wrap(bytes(name), computeType(t), t.shape());
    }

    /** A view, after checking the dtype is one of {@code allowed} and the shape is {@code shape}. */
    public Tensor tensor(String name, long[] shape, DType... allowed) {
        TensorInfo t = info(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new InvalidInputException(path + ": tensor '" + name + "' has shape " + Shapes.toString(t.shape())
                    + ", expected " + Shapes.toString(shape));
        }
        DType d = computeType(t);
        if (allowed.length > 0 && !Arrays.asList(allowed).contains(d)) {
            throw new InvalidInputException(path + ": tensor '" + name + "' is " + d + ", expected one of " + Arrays.toString(allowed));
        }
        return tensor(name);
    }

    /** A new host tensor holding the tensor converted to {@code target}. */
    public Tensor load(String name, DType target) {
        Tensor view = tensor(name);
        Tensor out = Tensor.zeros(target, view.shape());
        DTypeConversion.convert(view.data(), view.dtype(), out.data(), target, view.numel());
        return out;
    }

    /** Converts the tensor into {@code dst} (a host tensor of the same shape, any dtype). */
    public void loadInto(String name, Tensor dst) {
        Tensor view = tensor(name);
        if (!Arrays.equals(view.shape(), dst.shape())) {
            throw new InvalidInputException(path + ": tensor '" + name + "' has shape " + Shapes.toString(view.shape())
                    + ", the destination " + Shapes.toString(dst.shape()));
        }
        dst.copyFrom(view);
    }

    private DType computeType(TensorInfo t) {
        if (!t.dtype().hasDType()) {
            throw new InvalidInputException(path + ": tensor '" + t.name() + "' is " + t.dtype()
                    + ", a storage type cce4j does not compute with (read its raw bytes instead)");
        }
        return t.dtype().dtype();
    }

    /** Unmaps the file; views handed out become unusable. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile(" + path + ", " + byName.size() + " tensors)";
    }

    /** Feeds the header to the JSON parser straight from the mapping, without copying it. */
    private static final class SegmentInputStream extends InputStream {
        private final MemorySegment seg;
        private long pos;

        SegmentInputStream(MemorySegment seg) {
            this.seg = seg;
        }

        @Override
        public int read() {
            return pos < seg.byteSize() ? seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            long left = seg.byteSize() - pos;
            if (left <= 0) return len == 0 ? 0 : -1;
            int n = (int) Math.min(len, left);
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
