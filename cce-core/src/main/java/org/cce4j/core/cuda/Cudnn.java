package org.cce4j.core.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN 9 ({@code libcudnn.so.9}) through FFM: a handle bound to the device's stream and the backend
 * (graph) API's six calls — create, set attribute, get attribute, finalize, destroy a descriptor, and
 * execute a plan. Nothing else of cuDNN is bound: {@link CudnnGraph} builds operation graphs from
 * these calls (what the fused attention needs), so no native code of ours and no cudnn-frontend build.
 * The constants are cudnn_graph.h's enum values (stable across cuDNN 9 releases).
 */
public final class Cudnn {
    // cudnnBackendDescriptorType_t
    static final int POINTWISE_DESCRIPTOR = 0, ENGINECFG_DESCRIPTOR = 3, ENGINEHEUR_DESCRIPTOR = 4,
            EXECUTION_PLAN_DESCRIPTOR = 5, OPERATION_POINTWISE_DESCRIPTOR = 13, OPERATIONGRAPH_DESCRIPTOR = 15,
            VARIANT_PACK_DESCRIPTOR = 16, TENSOR_DESCRIPTOR = 17, MATMUL_DESCRIPTOR = 18, OPERATION_MATMUL_DESCRIPTOR = 19,
            REDUCTION_DESCRIPTOR = 21, OPERATION_REDUCTION_DESCRIPTOR = 22, OPERATION_RESHAPE_DESCRIPTOR = 31;
    // cudnnBackendAttributeType_t
    static final int TYPE_HANDLE = 0, TYPE_DATA_TYPE = 1, TYPE_BOOLEAN = 2, TYPE_INT64 = 3, TYPE_FLOAT = 4,
            TYPE_VOID_PTR = 6, TYPE_HEUR_MODE = 8, TYPE_POINTWISE_MODE = 14, TYPE_BACKEND_DESCRIPTOR = 15,
            TYPE_REDUCTION_OPERATOR_TYPE = 18;
    // cudnnDataType_t
    public static final int DATA_FLOAT = 0, DATA_HALF = 2, DATA_INT32 = 4, DATA_BFLOAT16 = 9, DATA_BOOLEAN = 11;
    // cudnnPointwiseMode_t
    public static final int PW_ADD = 0, PW_MUL = 1, PW_DIV = 6, PW_SUB = 9, PW_EXP = 13, PW_LOG = 15, PW_IDENTITY = 21,
            PW_TANH_FWD = 101, PW_TANH_BWD = 201,
            PW_CMP_GE = 303, PW_GEN_INDEX = 501, PW_BINARY_SELECT = 601;
    // cudnnReduceTensorOp_t
    public static final int REDUCE_ADD = 0, REDUCE_MAX = 3;
    // cudnnBackendHeurMode_t
    static final int HEUR_MODE_A = 3, HEUR_MODE_FALLBACK = 2;
    // cudnnBackendAttributeName_t
    static final int ATTR_POINTWISE_MODE = 0, ATTR_POINTWISE_MATH_PREC = 1, ATTR_POINTWISE_AXIS = 9,
            ATTR_ENGINEHEUR_MODE = 200, ATTR_ENGINEHEUR_OPERATION_GRAPH = 201, ATTR_ENGINEHEUR_RESULTS = 202,
            ATTR_EXECUTION_PLAN_HANDLE = 400, ATTR_EXECUTION_PLAN_ENGINE_CONFIG = 401, ATTR_EXECUTION_PLAN_WORKSPACE_SIZE = 402,
            ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR = 750, ATTR_OPERATION_POINTWISE_XDESC = 751,
            ATTR_OPERATION_POINTWISE_BDESC = 752, ATTR_OPERATION_POINTWISE_YDESC = 753, ATTR_OPERATION_POINTWISE_DXDESC = 756,
            ATTR_OPERATION_POINTWISE_DYDESC = 757, ATTR_OPERATION_POINTWISE_TDESC = 758,
            ATTR_OPERATIONGRAPH_HANDLE = 800, ATTR_OPERATIONGRAPH_OPS = 801,
            ATTR_TENSOR_BYTE_ALIGNMENT = 900, ATTR_TENSOR_DATA_TYPE = 901, ATTR_TENSOR_DIMENSIONS = 902,
            ATTR_TENSOR_STRIDES = 903, ATTR_TENSOR_UNIQUE_ID = 906, ATTR_TENSOR_IS_VIRTUAL = 907, ATTR_TENSOR_IS_BY_VALUE = 908,
            ATTR_VARIANT_PACK_UNIQUE_IDS = 1000, ATTR_VARIANT_PACK_DATA_POINTERS = 1001, ATTR_VARIANT_PACK_WORKSPACE = 1003,
            ATTR_MATMUL_COMP_TYPE = 1500, ATTR_OPERATION_MATMUL_ADESC = 1520, ATTR_OPERATION_MATMUL_BDESC = 1521,
            ATTR_OPERATION_MATMUL_CDESC = 1522, ATTR_OPERATION_MATMUL_DESC = 1523,
            ATTR_REDUCTION_OPERATOR = 1600, ATTR_REDUCTION_COMP_TYPE = 1601,
            ATTR_OPERATION_REDUCTION_XDESC = 1610, ATTR_OPERATION_REDUCTION_YDESC = 1611, ATTR_OPERATION_REDUCTION_DESC = 1612,
            ATTR_OPERATION_RESHAPE_XDESC = 2200, ATTR_OPERATION_RESHAPE_YDESC = 2201;

    private static volatile Object lib;

    private record Functions(NativeLibraries.Loaded lib, MethodHandle version, MethodHandle create, MethodHandle setStream,
                             MethodHandle errorString, MethodHandle lastError, MethodHandle createDesc, MethodHandle destroyDesc,
                             MethodHandle setAttr, MethodHandle getAttr, MethodHandle finalizeDesc, MethodHandle execute) {}

    private static Functions functions() {
        Object f = lib;
        if (f == null) {
            synchronized (Cudnn.class) {
                f = lib;
                if (f == null) {
                    try {
                        NativeLibraries.Loaded l = NativeLibraries.load("cuDNN 9 (libcudnn.so.9)",
                                List.of("libcudnn.so.9", "libcudnn.so"),
                                // the sub-libraries libcudnn.so.9 opens by name: loaded from its folder first, so that a
                                // folder outside the loader's path (a pip wheel's) works without LD_LIBRARY_PATH
                                List.of("libcudnn_graph.so.9", "libcudnn_heuristic.so.9", "libcudnn_engines_precompiled.so.9",
                                        "libcudnn_engines_runtime_compiled.so.9"));
                        f = new Functions(l,
                                l.bind(FunctionDescriptor.of(JAVA_LONG), false, "cudnnGetVersion"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cudnnCreate"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "cudnnSetStream"),
                                l.bind(FunctionDescriptor.of(ADDRESS, JAVA_INT), false, "cudnnGetErrorString"),
                                l.bindOptional(FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG), false, "cudnnGetLastErrorString").orElse(null),
                                l.bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), false, "cudnnBackendCreateDescriptor"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cudnnBackendDestroyDescriptor"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), false,
                                        "cudnnBackendSetAttribute"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), false,
                                        "cudnnBackendGetAttribute"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "cudnnBackendFinalize"),
                                l.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), false, "cudnnBackendExecute"));
                    } catch (CudaException e) {
                        f = e;
                    }
                    lib = f;
                }
            }
        }
        if (f instanceof CudaException e) throw new CudaUnavailableException(e.getMessage(), e);
        return (Functions) f;
    }

    /** Whether libcudnn.so.9 can be loaded here (no device needed). */
    public static boolean available() {
        try {
            functions();
            return true;
        } catch (CudaUnavailableException e) {
            return false;
        }
    }

    private final Functions f;
    private final MemorySegment handle;
    private final CudaDevice device;

    Cudnn(CudaDevice device, MemorySegment stream) {
        this.device = device;
        f = functions();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            check((int) f.create().invokeExact(h), "cudnnCreate");
            handle = h.get(ADDRESS, 0);
            check((int) f.setStream().invokeExact(handle, stream), "cudnnSetStream");
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    CudaDevice device() {
        return device;
    }

    MemorySegment handle() {
        return handle;
    }

    /** cudnnGetVersion: 92400 for 9.24.0. */
    public long version() {
        try {
            return (long) f.version().invokeExact();
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    void check(int status, String call) {
        if (status == 0) return;
        String name;
        try {
            name = ((MemorySegment) f.errorString().invokeExact(status)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            name = "cudnnStatus " + status;
        }
        String detail = "";
        if (f.lastError() != null) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment msg = a.allocate(1024);
                f.lastError().invokeExact(msg, 1024L);
                detail = msg.getString(0);
            } catch (Throwable ignored) {
                // the status alone
            }
        }
        throw new CudnnException(call + " failed: " + name + " (" + status + ")" + (detail.isBlank() ? "" : ": " + detail.strip()), status);
    }

    /** A cuDNN call that failed, with its status (3000-range codes are "not supported"). */
    public static final class CudnnException extends CudaException {
        private final int status;

        CudnnException(String message, int status) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    MemorySegment create(int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(ADDRESS);
            check((int) f.createDesc().invokeExact(type, d), "cudnnBackendCreateDescriptor(" + type + ")");
            return d.get(ADDRESS, 0);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    void destroy(MemorySegment desc) {
        try {
            int ignored = (int) f.destroyDesc().invokeExact(desc);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    void set(MemorySegment desc, int name, int type, long count, MemorySegment values, String what) {
        try {
            check((int) f.setAttr().invokeExact(desc, name, type, count, values), "cudnnBackendSetAttribute(" + what + ")");
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /** Reads up to {@code requested} elements into {@code out}; returns how many the attribute holds. */
    long get(MemorySegment desc, int name, int type, long requested, MemorySegment out, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_LONG);
            check((int) f.getAttr().invokeExact(desc, name, type, requested, count, out), "cudnnBackendGetAttribute(" + what + ")");
            return count.get(JAVA_LONG, 0);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    void finalizeDescriptor(MemorySegment desc, String what) {
        try {
            check((int) f.finalizeDesc().invokeExact(desc), "cudnnBackendFinalize(" + what + ")");
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    void execute(MemorySegment plan, MemorySegment variantPack, String what) {
        try {
            check((int) f.execute().invokeExact(handle, plan, variantPack), "cudnnBackendExecute(" + what + ")");
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }
}
