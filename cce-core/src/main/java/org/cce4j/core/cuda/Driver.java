package org.cce4j.core.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through hand-written FFM downcalls: one
 * {@link MethodHandle} per function, called with {@code invokeExact}, every CUresult checked and
 * turned into a {@link CudaException} that names the call and the error (cuGetErrorName). Short,
 * non-blocking calls (launches, async copies, event records) are bound as critical downcalls;
 * calls that may block (synchronize, allocate, load a module) are ordinary ones.
 * <p>
 * Handles (CUcontext, CUstream, CUmodule, CUfunction, CUevent) are plain addresses here, device
 * pointers are {@code long}s. The binding is loaded once; when libcuda.so.1 is absent (a machine
 * without the NVIDIA driver) {@link #get()} throws {@link CudaUnavailableException} with the reason.
 */
public final class Driver {
    private static volatile Object instance;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuCtxSetCurrent, cuCtxSynchronize,
            cuStreamCreate, cuStreamSynchronize, cuStreamDestroy, cuStreamWaitEvent, cuEventCreate, cuEventRecord, cuEventQuery,
            cuEventSynchronize,
            cuEventElapsedTime, cuEventDestroy, cuMemAlloc, cuMemFree, cuMemGetInfo, cuMemcpyHtoDAsync,
            cuMemcpyDtoHAsync, cuMemcpyDtoDAsync, cuMemsetD32Async, cuMemsetD8Async, cuModuleLoadData,
            cuModuleGetFunction, cuModuleUnload, cuFuncSetAttribute, cuLaunchKernel, cuGetErrorName,
            cuTensorMapEncodeTiled;
    final String where;

    private Driver(NativeLibraries.Loaded lib) {
        where = lib.where();
        cuInit = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT), false, "cuInit");
        cuDriverGetVersion = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuDriverGetVersion");
        cuDeviceGetCount = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuDeviceGetCount");
        cuDeviceGet = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), false, "cuDeviceGet");
        cuDeviceGetName = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false, "cuDeviceGetName");
        cuDeviceGetAttribute = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false, "cuDeviceGetAttribute");
        cuDeviceTotalMem = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), false, "cuDeviceTotalMem_v2");
        cuDevicePrimaryCtxRetain = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), false, "cuDevicePrimaryCtxRetain");
        cuCtxSetCurrent = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), true, "cuCtxSetCurrent");
        cuCtxSynchronize = lib.bind(FunctionDescriptor.of(JAVA_INT), false, "cuCtxSynchronize");
        cuStreamCreate = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), false, "cuStreamCreate");
        cuStreamSynchronize = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuStreamSynchronize");
        cuStreamDestroy = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuStreamDestroy_v2");
        cuStreamWaitEvent = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), true, "cuStreamWaitEvent");
        cuEventQuery = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), true, "cuEventQuery");
        cuEventCreate = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), false, "cuEventCreate");
        cuEventRecord = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), true, "cuEventRecord");
        cuEventSynchronize = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuEventSynchronize");
        cuEventElapsedTime = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), false,
                "cuEventElapsedTime_v2", "cuEventElapsedTime");
        cuEventDestroy = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuEventDestroy_v2");
        cuMemAlloc = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), false, "cuMemAlloc_v2");
        cuMemFree = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG), false, "cuMemFree_v2");
        cuMemGetInfo = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "cuMemGetInfo_v2");
        cuMemcpyHtoDAsync = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), false, "cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS), false, "cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), true, "cuMemcpyDtoDAsync_v2");
        cuMemsetD32Async = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS), true, "cuMemsetD32Async");
        cuMemsetD8Async = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS), true, "cuMemsetD8Async");
        cuModuleLoadData = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "cuModuleLoadData");
        cuModuleGetFunction = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), false, "cuModuleGetFunction");
        cuModuleUnload = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cuModuleUnload");
        cuFuncSetAttribute = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false, "cuFuncSetAttribute");
        cuLaunchKernel = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS), true, "cuLaunchKernel");
        cuGetErrorName = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), true, "cuGetErrorName");
        cuTensorMapEncodeTiled = lib.bindOptional(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), false, "cuTensorMapEncodeTiled").orElse(null);
    }

    /** The driver, initialised (cuInit); throws {@link CudaUnavailableException} with the reason when it cannot be. */
    public static Driver get() {
        Object d = instance;
        if (d == null) {
            synchronized (Driver.class) {
                d = instance;
                if (d == null) {
                    try {
                        Driver drv = new Driver(NativeLibraries.load("the CUDA driver (libcuda.so.1, from the NVIDIA driver)",
                                List.of("libcuda.so.1", "libcuda.so"), List.of()));
                        drv.check(drv.callInt(drv.cuInit, 0), "cuInit");
                        d = drv;
                    } catch (CudaException e) {
                        d = e;
                    } catch (RuntimeException | LinkageError e) {
                        d = new CudaUnavailableException("the CUDA driver could not be loaded: " + e, e);
                    }
                    instance = d;
                }
            }
        }
        if (d instanceof CudaException e) throw new CudaUnavailableException(e.getMessage(), e);
        return (Driver) d;
    }

    // ---- errors ---------------------------------------------------------------------------

    void check(int result, String call) {
        if (result != 0) throw new CudaException(call + " failed: " + errorName(result) + " (" + result + ")");
    }

    String errorName(int result) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int r = (int) cuGetErrorName.invokeExact(result, p);
            if (r != 0) return "CUresult " + result;
            return p.get(ADDRESS, 0).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "CUresult " + result;
        }
    }

    private int callInt(MethodHandle h, int arg) {
        try {
            return (int) h.invokeExact(arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new CudaException("native call failed", t);
    }

    // ---- devices and contexts -------------------------------------------------------------

    public int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) cuDriverGetVersion.invokeExact(v), "cuDriverGetVersion");
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) cuDeviceGetCount.invokeExact(v), "cuDeviceGetCount");
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) cuDeviceGet.invokeExact(v, ordinal), "cuDeviceGet(" + ordinal + ")");
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String deviceName(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(256);
            check((int) cuDeviceGetName.invokeExact(v, 256, dev), "cuDeviceGetName");
            return v.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int attribute(int dev, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) cuDeviceGetAttribute.invokeExact(v, attribute, dev), "cuDeviceGetAttribute(" + attribute + ")");
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long totalMemory(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            check((int) cuDeviceTotalMem.invokeExact(v, dev), "cuDeviceTotalMem");
            return v.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment primaryContext(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check((int) cuDevicePrimaryCtxRetain.invokeExact(v, dev), "cuDevicePrimaryCtxRetain");
            return v.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setCurrent(MemorySegment ctx) {
        try {
            check((int) cuCtxSetCurrent.invokeExact(ctx), "cuCtxSetCurrent");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void contextSynchronize() {
        try {
            check((int) cuCtxSynchronize.invokeExact(), "cuCtxSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- streams and events ---------------------------------------------------------------

    MemorySegment streamCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check((int) cuStreamCreate.invokeExact(v, flags), "cuStreamCreate");
            return v.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void streamSynchronize(MemorySegment stream) {
        try {
            check((int) cuStreamSynchronize.invokeExact(stream), "cuStreamSynchronize (a kernel or copy queued before it failed)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void streamDestroy(MemorySegment stream) {
        try {
            check((int) cuStreamDestroy.invokeExact(stream), "cuStreamDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment eventCreate() {
        return eventCreate(0);
    }

    /** An event with CUevent_flags ({@link #EVENT_DISABLE_TIMING} for the ones only waited on). */
    MemorySegment eventCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check((int) cuEventCreate.invokeExact(v, flags), "cuEventCreate");
            return v.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void eventRecord(MemorySegment event, MemorySegment stream) {
        try {
            check((int) cuEventRecord.invokeExact(event, stream), "cuEventRecord");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static final int EVENT_DISABLE_TIMING = 2;
    private static final int CUDA_ERROR_NOT_READY = 600;

    /** Whether the work before the event's record has completed (cuEventQuery: CUDA_SUCCESS or CUDA_ERROR_NOT_READY). */
    boolean eventDone(MemorySegment event) {
        try {
            int r = (int) cuEventQuery.invokeExact(event);
            if (r == CUDA_ERROR_NOT_READY) return false;
            check(r, "cuEventQuery (work queued before the event failed)");
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Work queued on {@code stream} after this call waits for {@code event}'s last record (cuStreamWaitEvent). */
    void streamWaitEvent(MemorySegment stream, MemorySegment event) {
        try {
            check((int) cuStreamWaitEvent.invokeExact(stream, event, 0), "cuStreamWaitEvent");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void eventSynchronize(MemorySegment event) {
        try {
            check((int) cuEventSynchronize.invokeExact(event), "cuEventSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    float eventElapsedMs(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_FLOAT);
            check((int) cuEventElapsedTime.invokeExact(v, start, end), "cuEventElapsedTime");
            return v.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void eventDestroy(MemorySegment event) {
        try {
            check((int) cuEventDestroy.invokeExact(event), "cuEventDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- memory ---------------------------------------------------------------------------

    /** cuMemAlloc; returns 0 instead of throwing when the device is out of memory (the allocator then frees its cache). */
    long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            int r = (int) cuMemAlloc.invokeExact(v, bytes);
            if (r == 2) return 0; // CUDA_ERROR_OUT_OF_MEMORY
            check(r, "cuMemAlloc(" + bytes + " bytes)");
            return v.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memFree(long ptr) {
        try {
            check((int) cuMemFree.invokeExact(ptr), "cuMemFree");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {free, total} bytes of the current context's device. */
    long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), t = a.allocate(JAVA_LONG);
            check((int) cuMemGetInfo.invokeExact(f, t), "cuMemGetInfo");
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyHostToDevice(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream), "cuMemcpyHtoDAsync(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyDeviceToHost(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream), "cuMemcpyDtoHAsync(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyDeviceToDevice(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check((int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream), "cuMemcpyDtoDAsync(" + bytes + " bytes)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memsetD32(long dst, int value, long count, MemorySegment stream) {
        try {
            check((int) cuMemsetD32Async.invokeExact(dst, value, count, stream), "cuMemsetD32Async(" + count + " words)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memsetD8(long dst, byte value, long count, MemorySegment stream) {
        try {
            check((int) cuMemsetD8Async.invokeExact(dst, value, count, stream), "cuMemsetD8Async(" + count + " bytes)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- modules and launches -------------------------------------------------------------

    MemorySegment moduleLoad(byte[] image, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment img = a.allocate(image.length + 1L, 16);
            MemorySegment.copy(image, 0, img, JAVA_BYTE, 0, image.length);
            MemorySegment v = a.allocate(ADDRESS);
            check((int) cuModuleLoadData.invokeExact(v, img), "cuModuleLoadData(" + name + ")");
            return v.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment moduleFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ADDRESS);
            check((int) cuModuleGetFunction.invokeExact(v, module, a.allocateFrom(name)), "cuModuleGetFunction(" + name + ")");
            return v.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void moduleUnload(MemorySegment module) {
        try {
            check((int) cuModuleUnload.invokeExact(module), "cuModuleUnload");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void functionAttribute(MemorySegment function, int attribute, int value, String name) {
        try {
            check((int) cuFuncSetAttribute.invokeExact(function, attribute, value), "cuFuncSetAttribute(" + name + ", " + attribute + ", " + value + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void launch(MemorySegment function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                MemorySegment stream, MemorySegment params, String name) {
        try {
            check((int) cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params, MemorySegment.NULL),
                    "cuLaunchKernel(" + name + ", grid " + gx + "x" + gy + "x" + gz + ", block " + bx + ", smem " + sharedBytes + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean hasTensorMaps() {
        return cuTensorMapEncodeTiled != null;
    }

    /**
     * A 2-D tiled TMA descriptor (128 bytes, 64-aligned) over a row-major [rows, cols] matrix.
     * @param dataType CUtensorMapDataType (6 = f16, 9 = bf16, 7 = f32)
     */
    void encodeTiled2d(MemorySegment map, int dataType, long address, long cols, long rows, long rowBytes,
                       int boxCols, int boxRows, int swizzle) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dims = a.allocateFrom(JAVA_LONG, cols, rows);
            MemorySegment strides = a.allocateFrom(JAVA_LONG, rowBytes);
            MemorySegment box = a.allocateFrom(JAVA_INT, boxCols, boxRows);
            MemorySegment estr = a.allocateFrom(JAVA_INT, 1, 1);
            int r = (int) cuTensorMapEncodeTiled.invokeExact(map, dataType, 2, MemorySegment.ofAddress(address), dims, strides,
                    box, estr, 0, swizzle, 3, 0);
            check(r, "cuTensorMapEncodeTiled(" + rows + "x" + cols + ", box " + boxRows + "x" + boxCols + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static final ValueLayout.OfLong POINTER = JAVA_LONG;
}
