package org.cce4j.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense, row-major tensor: a dtype, a shape and one block of memory on a device.
 * <pre>
 *   shape [A, B, C]  ->  element (a, b, c) at byte  ((a*B + b)*C + c) * dtype.byteSize()
 * </pre>
 * Host tensors hold a real {@link MemorySegment} (FFM memory, 64-byte aligned, no 2 GB limit);
 * CUDA tensors hold a zero-length segment whose address is the device pointer, so both kinds
 * travel through the same code and only host tensors can be read element by element.
 * A tensor that owns its memory frees it on {@link #close()}; views share their parent's memory
 * and close nothing.
 */
public final class Tensor implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final DType dtype;
    private final long[] shape;
    private final long numel;
    private final Device device;
    private final MemorySegment data;
    private final AutoCloseable owner;
    private volatile boolean closed;

    private Tensor(DType dtype, long[] shape, Device device, MemorySegment data, AutoCloseable owner) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.numel = Shapes.numel(this.shape);
        this.device = device;
        this.data = data;
        this.owner = owner;
    }

    // ---- creation -------------------------------------------------------------------------

    /** A zero-filled host tensor. */
    public static Tensor zeros(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(Shapes.numel(shape), (long) dtype.byteSize());
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
        HostMemory.allocated(bytes);
        AutoCloseable free = () -> {
            arena.close();
            HostMemory.freed(bytes);
        };
        return new Tensor(dtype, shape, Device.CPU, seg, free);
    }

    /**
     * A tensor over memory someone else manages (a mapped file, a device allocation).
     * @param owner closed by {@link #close()}; null when the tensor must not free the memory
     */
    public static Tensor wrap(MemorySegment data, DType dtype, long[] shape, Device device, AutoCloseable owner) {
        long bytes = Math.multiplyExact(Shapes.numel(shape), (long) dtype.byteSize());
        if (device.isCpu() && data.byteSize() != bytes) {
            throw new IllegalArgumentException("segment holds " + data.byteSize() + " bytes, shape "
                    + Shapes.toString(shape) + " of " + dtype + " needs " + bytes);
        }
        return new Tensor(dtype, shape, device, data, owner);
    }

    /** A host view of a segment, owned elsewhere. */
    public static Tensor wrap(MemorySegment data, DType dtype, long... shape) {
        return wrap(data, dtype, shape, Device.CPU, null);
    }

    public static Tensor of(float[] values, long... shape) {
        Tensor t = zeros(DType.F32, checkCount(values.length, shape));
        MemorySegment.copy(values, 0, t.data, F32, 0, values.length);
        return t;
    }

    public static Tensor of(int[] values, long... shape) {
        Tensor t = zeros(DType.I32, checkCount(values.length, shape));
        MemorySegment.copy(values, 0, t.data, I32, 0, values.length);
        return t;
    }

    public static Tensor of(long[] values, long... shape) {
        Tensor t = zeros(DType.I64, checkCount(values.length, shape));
        MemorySegment.copy(values, 0, t.data, I64, 0, values.length);
        return t;
    }

    /** A scalar (shape []) f32 tensor. */
    public static Tensor scalar(float value) {
        Tensor t = zeros(DType.F32);
        t.setFloat(0, value);
        return t;
    }

    private static long[] checkCount(int count, long[] shape) {
        long[] s = shape.length == 0 && count != 1 ? new long[] {count} : shape;
        if (Shapes.numel(s) != count) {
            throw new IllegalArgumentException(count + " values do not fill shape " + Shapes.toString(s));
        }
        return s;
    }

    // ---- description ----------------------------------------------------------------------

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** The size of dimension {@code i}; negative i counts from the end. */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long numel() {
        return numel;
    }

    public long byteSize() {
        return numel * dtype.byteSize();
    }

    /** The memory: host bytes, or a zero-length segment at the device address. */
    public MemorySegment data() {
        return data;
    }

    /** The device address (CUDA) or host address of the first element. */
    public long address() {
        return data.address();
    }

    @Override
    public String toString() {
        return "Tensor(" + dtype.shortName() + Shapes.toString(shape) + " on " + device + ")";
    }

    // ---- views ----------------------------------------------------------------------------

    /** The same memory seen with another shape of the same element count. */
    public Tensor reshape(long... newShape) {
        if (Shapes.numel(newShape) != numel) {
            throw new IllegalArgumentException("cannot reshape " + Shapes.toString(shape) + " to " + Shapes.toString(newShape));
        }
        return new Tensor(dtype, newShape, device, data, null);
    }

    /** Rows [from, to) along the first dimension, sharing memory. */
    public Tensor slice(long from, long to) {
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of " + Shapes.toString(shape));
        }
        long rowBytes = (shape[0] == 0 ? 0 : byteSize() / shape[0]);
        long[] s = shape.clone();
        s[0] = to - from;
        MemorySegment seg = device.isCpu()
                ? data.asSlice(from * rowBytes, (to - from) * rowBytes)
                : MemorySegment.ofAddress(data.address() + from * rowBytes);
        return new Tensor(dtype, s, device, seg, null);
    }

    // ---- element access (host only) -------------------------------------------------------

    /** Element i (flat index) as a float, converting from any dtype. */
    public float getFloat(long i) {
        requireHost();
        long off = i * dtype.byteSize();
        return switch (dtype) {
            case F32 -> data.get(F32, off);
            case F64 -> (float) data.get(F64, off);
            case BF16 -> FloatFormats.bf16ToF32(data.get(I16, off));
            case F16 -> FloatFormats.f16ToF32(data.get(I16, off));
            case F8_E4M3 -> FloatFormats.e4m3ToF32(data.get(ValueLayout.JAVA_BYTE, off));
            case F8_E5M2 -> FloatFormats.e5m2ToF32(data.get(ValueLayout.JAVA_BYTE, off));
            default -> (float) getLong(i);
        };
    }

    /** Element i as a double (exact for every dtype but U64 above 2^53). */
    public double getDouble(long i) {
        return dtype == DType.F64 ? data.get(F64, i * 8) : dtype.isFloatingPoint() ? getFloat(i) : getLong(i);
    }

    /** Element i of an integer or bool tensor as a long (U64 above 2^63 wraps, as in Java). */
    public long getLong(long i) {
        requireHost();
        long off = i * dtype.byteSize();
        return switch (dtype) {
            case I64, U64 -> data.get(I64, off);
            case I32 -> data.get(I32, off);
            case U32 -> Integer.toUnsignedLong(data.get(I32, off));
            case I16 -> data.get(I16, off);
            case U16 -> Short.toUnsignedInt(data.get(I16, off));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, off);
            case U8, BOOL -> Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, off));
            default -> throw new IllegalStateException("getLong on a " + dtype + " tensor");
        };
    }

    /** Stores a float into element i, rounding to nearest-even for the narrow formats. */
    public void setFloat(long i, float v) {
        requireHost();
        long off = i * dtype.byteSize();
        switch (dtype) {
            case F32 -> data.set(F32, off, v);
            case F64 -> data.set(F64, off, v);
            case BF16 -> data.set(I16, off, FloatFormats.f32ToBf16(v));
            case F16 -> data.set(I16, off, FloatFormats.f32ToF16(v));
            case F8_E4M3 -> data.set(ValueLayout.JAVA_BYTE, off, FloatFormats.f32ToE4m3(v));
            case F8_E5M2 -> data.set(ValueLayout.JAVA_BYTE, off, FloatFormats.f32ToE5m2(v));
            default -> setLong(i, (long) v);
        }
    }

    /** Stores a double into element i (exactly into F64, rounded into the narrower floats). */
    public void setDouble(long i, double v) {
        if (dtype == DType.F64) {
            requireHost();
            data.set(F64, i * 8, v);
        } else if (dtype.isFloatingPoint()) {
            setFloat(i, (float) v);
        } else {
            setLong(i, (long) v);
        }
    }

    public void setLong(long i, long v) {
        requireHost();
        long off = i * dtype.byteSize();
        switch (dtype) {
            case I64, U64 -> data.set(I64, off, v);
            case I32, U32 -> data.set(I32, off, (int) v);
            case I16, U16 -> data.set(I16, off, (short) v);
            case I8, U8 -> data.set(ValueLayout.JAVA_BYTE, off, (byte) v);
            case BOOL -> data.set(ValueLayout.JAVA_BYTE, off, (byte) (v != 0 ? 1 : 0));
            case F64 -> data.set(F64, off, v);
            default -> setFloat(i, v);
        }
    }

    public float[] toFloatArray() {
        requireHost();
        checkArraySize();
        float[] out = new float[(int) numel];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        }
        return out;
    }

    public double[] toDoubleArray() {
        requireHost();
        checkArraySize();
        double[] out = new double[(int) numel];
        for (int i = 0; i < out.length; i++) out[i] = getDouble(i);
        return out;
    }

    public long[] toLongArray() {
        requireHost();
        checkArraySize();
        long[] out = new long[(int) numel];
        for (int i = 0; i < out.length; i++) out[i] = getLong(i);
        return out;
    }

    /** A new host tensor holding these values converted to {@code target} (a copy even when equal). */
    public Tensor to(DType target) {
        requireHost();
        Tensor out = zeros(target, shape);
        DTypeConversion.convert(data, dtype, out.data, target, numel);
        return out;
    }

    /** Copies another host tensor of the same shape into this one, converting dtypes. */
    public void copyFrom(Tensor src) {
        requireHost();
        src.requireHost();
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("copy from " + Shapes.toString(src.shape) + " into " + Shapes.toString(shape));
        }
        DTypeConversion.convert(src.data, src.dtype, data, dtype, numel);
    }

    private void requireHost() {
        if (!device.isCpu()) {
            throw new IllegalStateException("host access to a tensor on " + device);
        }
    }

    private void checkArraySize() {
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor of " + numel + " elements does not fit a Java array");
        }
    }

    /** Frees owned memory; closing twice is harmless. */
    @Override
    public void close() {
        if (owner != null && !closed) {
            closed = true;
            try {
                owner.close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("freeing " + this, e);
            }
        }
    }
}
