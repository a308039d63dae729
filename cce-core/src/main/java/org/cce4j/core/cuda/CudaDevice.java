package org.cce4j.core.cuda;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One CUDA device as cce4j uses it: its primary context, one stream that all our work is queued
 * on (so ordering needs no events), the caching allocator, the compiled kernel modules and, on
 * demand, a cuBLAS handle. Obtained by ordinal; the first use initialises the driver.
 * <p>
 * Every public entry point makes the context current on the calling thread ({@link #enter()}),
 * so any Java thread may call in.
 */
public final class CudaDevice {
    private static final Map<Integer, CudaDevice> DEVICES = new ConcurrentHashMap<>();

    private final Driver driver;
    private final int ordinal;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final DeviceAllocator allocator;
    private final String name;
    private final int ccMajor, ccMinor, multiprocessors, sharedOptin;
    private final long totalMemory;
    private final boolean debugSync = "1".equals(System.getenv("CCE4J_CUDA_SYNC"));
    private final Map<String, CudaModule> modules = new ConcurrentHashMap<>();
    private volatile Cublas cublas;
    private volatile Cudnn cudnn;

    private CudaDevice(Driver driver, int ordinal) {
        this.driver = driver;
        this.ordinal = ordinal;
        int count = driver.deviceCount();
        if (ordinal >= count) {
            throw new CudaUnavailableException("CUDA device " + ordinal + " does not exist (" + count + " device"
                    + (count == 1 ? "" : "s") + " present)");
        }
        int dev = driver.device(ordinal);
        name = driver.deviceName(dev);
        multiprocessors = driver.attribute(dev, 16);
        ccMajor = driver.attribute(dev, 75);
        ccMinor = driver.attribute(dev, 76);
        sharedOptin = driver.attribute(dev, 97);
        totalMemory = driver.totalMemory(dev);
        context = driver.primaryContext(dev);
        driver.setCurrent(context);
        stream = driver.streamCreate(0);
        allocator = new DeviceAllocator(driver);
    }

    /** Device {@code ordinal}, ready to use; throws {@link CudaUnavailableException} when it cannot be. */
    public static CudaDevice get(int ordinal) {
        CudaDevice d = DEVICES.get(ordinal);
        if (d == null) {
            synchronized (DEVICES) {
                d = DEVICES.get(ordinal);
                if (d == null) {
                    Driver drv = Driver.get();
                    try {
                        d = new CudaDevice(drv, ordinal);
                    } catch (CudaUnavailableException e) {
                        throw e;
                    } catch (CudaException e) {
                        throw new CudaUnavailableException("CUDA device " + ordinal + " cannot be used: " + e.getMessage(), e);
                    }
                    DEVICES.put(ordinal, d);
                }
            }
        }
        d.enter();
        return d;
    }

    public static CudaDevice get(Device device) {
        if (!(device instanceof Device.Cuda c)) throw new IllegalArgumentException(device + " is not a CUDA device");
        return get(c.ordinal());
    }

    /** Makes this device's context current on the calling thread. */
    public void enter() {
        driver.setCurrent(context);
    }

    Driver driver() {
        return driver;
    }

    MemorySegment stream() {
        return stream;
    }

    /**
     * A second stream on this device, for work that overlaps the compute stream (NCCL's collectives);
     * the compute stream stays the one all other work is queued on, and the two are ordered by events.
     */
    public SideStream createSideStream() {
        enter();
        return new SideStream(this);
    }

    boolean debugSync() {
        return debugSync;
    }

    public int ordinal() {
        return ordinal;
    }

    public Device device() {
        return new Device.Cuda(ordinal);
    }

    public String name() {
        return name;
    }

    public int computeCapability() {
        return ccMajor * 10 + ccMinor;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    public int sharedMemoryOptin() {
        return sharedOptin;
    }

    public long totalMemory() {
        return totalMemory;
    }

    public DeviceAllocator allocator() {
        return allocator;
    }

    /** The architecture NVRTC compiles for: sm_90a on Hopper (wgmma), sm_XY elsewhere. */
    public String architecture() {
        String a = "sm_" + ccMajor + ccMinor;
        return ccMajor == 9 && ccMinor == 0 ? a + "a" : a;
    }

    /** The module compiled from {@code file} with {@code defines}, compiled (or read from the disk cache) once. */
    public CudaModule module(String file, List<String> defines) {
        String key = file + defines;
        return modules.computeIfAbsent(key, k -> {
            byte[] cubin = KernelCompiler.cubin(file, defines, architecture());
            enter();
            return new CudaModule(this, driver.moduleLoad(cubin, file), file + defines);
        });
    }

    /**
     * The module compiled from a kernel source of another module: {@code file} under the resource
     * folder {@code dir} (e.g. "/org/cce4j/transformer/cuda/") of {@code anchor}'s class loader; it may
     * include its own headers and cce-core's (cce_common.cuh).
     */
    public CudaModule module(Class<?> anchor, String dir, String file, List<String> defines) {
        String key = dir + file + defines;
        return modules.computeIfAbsent(key, k -> {
            byte[] cubin = KernelCompiler.cubin(anchor, dir, file, defines, architecture());
            enter();
            return new CudaModule(this, driver.moduleLoad(cubin, file), file + defines);
        });
    }

    public Cublas cublas() {
        Cublas c = cublas;
        if (c == null) {
            synchronized (this) {
                c = cublas;
                if (c == null) {
                    enter();
                    c = cublas = new Cublas(stream);
                }
            }
        }
        return c;
    }

    /** A cuDNN handle on this device's stream (libcudnn.so.9; {@link CudaUnavailableException} without it). */
    public Cudnn cudnn() {
        Cudnn c = cudnn;
        if (c == null) {
            synchronized (this) {
                c = cudnn;
                if (c == null) {
                    enter();
                    c = cudnn = new Cudnn(this, stream);
                }
            }
        }
        return c;
    }

    /** Waits for all queued work; a failure in it surfaces here, named by {@code after}. */
    public void synchronize(String after) {
        try {
            driver.streamSynchronize(stream);
        } catch (CudaException e) {
            throw new CudaException(e.getMessage() + " [after " + after + "]", e);
        }
    }

    public void synchronize() {
        driver.streamSynchronize(stream);
    }

    // ---- tensors --------------------------------------------------------------------------

    /** A device tensor with undefined contents. */
    public Tensor empty(DType dtype, long... shape) {
        long bytes = Math.multiplyExact(org.cce4j.core.tensor.Shapes.numel(shape), (long) dtype.byteSize());
        enter();
        DeviceBuffer buf = allocator.allocate(bytes);
        return Tensor.wrap(MemorySegment.ofAddress(buf.pointer()), dtype, shape, device(), buf);
    }

    public Tensor zeros(DType dtype, long... shape) {
        Tensor t = empty(dtype, shape);
        memset(t.address(), (byte) 0, t.byteSize());
        return t;
    }

    /** A device buffer of raw bytes. */
    public DeviceBuffer buffer(long bytes) {
        enter();
        return allocator.allocate(bytes);
    }

    public void memset(long address, byte value, long bytes) {
        if (bytes == 0) return;
        if ((address & 3) == 0 && (bytes & 3) == 0) {
            int v = value & 0xff;
            driver.memsetD32(address, v | v << 8 | v << 16 | v << 24, bytes >> 2, stream);
        } else {
            driver.memsetD8(address, value, bytes, stream);
        }
    }

    /** Fills {@code count} 32-bit words with the bits of {@code value}. */
    public void fill32(long address, int bits, long count) {
        if (count > 0) driver.memsetD32(address, bits, count, stream);
    }

    /** A copy of a host tensor on this device (same dtype and shape). */
    public Tensor upload(Tensor host) {
        if (!host.device().isCpu()) throw new IllegalArgumentException("upload of " + host + ": not a host tensor");
        Tensor t = empty(host.dtype(), host.shape());
        copyToDevice(host.data(), t.address(), host.byteSize());
        return t;
    }

    /** A host copy of a device tensor (same dtype and shape). */
    public Tensor download(Tensor dev) {
        if (dev.device().isCpu()) throw new IllegalArgumentException("download of " + dev + ": already a host tensor");
        Tensor t = Tensor.zeros(dev.dtype(), dev.shape());
        copyToHost(dev.address(), t.data(), dev.byteSize());
        return t;
    }

    /** Host → device, complete when this returns (the host memory may be reused at once). */
    public void copyToDevice(MemorySegment src, long dst, long bytes) {
        if (bytes == 0) return;
        enter();
        driver.copyHostToDevice(dst, src, bytes, stream);
        synchronize("copy of " + bytes + " bytes to the device");
    }

    /**
     * Host → device in stream order without waiting for the device. Only for pageable (ordinary,
     * not page-locked) host memory such as an FFM arena: the driver copies it into its own staging
     * memory before returning (CUDA's documented behaviour for asynchronous copies from pageable
     * memory), so {@code src} may be freed or reused at once.
     */
    public void copyToDeviceStaged(MemorySegment src, long dst, long bytes) {
        if (bytes == 0) return;
        enter();
        driver.copyHostToDevice(dst, src, bytes, stream);
    }

    /** Device → host after all queued work, complete when this returns. */
    public void copyToHost(long src, MemorySegment dst, long bytes) {
        if (bytes == 0) return;
        enter();
        driver.copyDeviceToHost(dst, src, bytes, stream);
        synchronize("copy of " + bytes + " bytes to the host");
    }

    public void copyDeviceToDevice(long src, long dst, long bytes) {
        if (bytes > 0) driver.copyDeviceToDevice(dst, src, bytes, stream);
    }

    public float[] downloadFloats(long src, int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * count, 16);
            copyToHost(src, m, 4L * count);
            return m.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
        }
    }

    public int[] downloadInts(long src, int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * count, 16);
            copyToHost(src, m, 4L * count);
            return m.toArray(java.lang.foreign.ValueLayout.JAVA_INT);
        }
    }

    /** A device copy of {@code values}, queued in stream order without waiting for the device. */
    public DeviceBuffer uploadFloats(float[] values) {
        try (Arena a = Arena.ofConfined()) {
            return uploadStaged(a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, values));
        }
    }

    /** A device copy of {@code values}, queued in stream order without waiting for the device. */
    public DeviceBuffer uploadInts(int[] values) {
        try (Arena a = Arena.ofConfined()) {
            return uploadStaged(a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_INT, values));
        }
    }

    private DeviceBuffer uploadStaged(MemorySegment host) {
        DeviceBuffer b = buffer(host.byteSize());
        try {
            copyToDeviceStaged(host, b.pointer(), host.byteSize());
            return b;
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    // ---- timing ---------------------------------------------------------------------------

    /** A CUDA event on this device's stream, for timing. */
    public final class Event implements AutoCloseable {
        private final MemorySegment event = driver.eventCreate();

        public void record() {
            driver.eventRecord(event, stream);
        }

        /** Milliseconds from {@code start} to this event, after waiting for this event. */
        public float millisSince(Event start) {
            driver.eventSynchronize(event);
            return driver.eventElapsedMs(start.event, event);
        }

        @Override
        public void close() {
            driver.eventDestroy(event);
        }
    }

    public Event event() {
        enter();
        return new Event();
    }

    /** A TMA descriptor (128 bytes) over a row-major [rows, cols] matrix of 2-byte elements, tile box [boxRows, boxCols], 128-byte swizzle. */
    public MemorySegment tensorMap2d(Arena arena, DType dtype, long address, long rows, long cols, int boxRows, int boxCols) {
        if (!driver.hasTensorMaps()) throw new CudaException("the CUDA driver has no cuTensorMapEncodeTiled (driver too old for TMA)");
        int type = switch (dtype) {
            case BF16 -> 9;
            case F16 -> 6;
            case F32 -> 7;
            default -> throw new IllegalArgumentException("no TMA type for " + dtype);
        };
        MemorySegment map = arena.allocate(128, 64);
        driver.encodeTiled2d(map, type, address, cols, rows, cols * dtype.byteSize(), boxCols, boxRows, 3);
        return map;
    }

    @Override
    public String toString() {
        return "cuda:" + ordinal + " (" + name + ", sm_" + ccMajor + ccMinor + ", " + multiprocessors + " SMs, "
                + (totalMemory >> 20) + " MiB)";
    }
}
