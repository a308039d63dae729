package org.cce4j.core.cuda;

import org.cce4j.core.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NCCL ({@code libnccl.so.2}) through FFM, in the style of {@link Driver} and {@link Cublas}: one
 * handle per function, {@code invokeExact}, every ncclResult_t checked and turned into a
 * {@link CudaException} that names the call, the result by its enum name and NCCL's own words
 * (ncclGetErrorString, and ncclGetLastError's detail). Communicators (ncclComm_t) and streams are
 * plain addresses; the 128-byte ncclUniqueId travels as bytes (and by value into ncclCommInitRank).
 * <p>
 * The library is looked for as {@code $CCE4J_NCCL} (the file, or its folder), then by name on the
 * loader's path, then in the folders of LD_LIBRARY_PATH, the CUDA folders and the pip wheels'
 * {@code nvidia/nccl/lib} ({@link NativeLibraries}), which is where PyTorch's NCCL lives. When it is
 * missing, {@link #get()} throws {@link CudaUnavailableException} with one line saying where it looked.
 */
public final class Nccl {
    /** ncclUniqueId: 128 opaque bytes. */
    public static final int UNIQUE_ID_BYTES = 128;
    private static final MemoryLayout UNIQUE_ID = MemoryLayout.structLayout(MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE));
    private static final int SUM = 0;
    /** ncclResult_t names, by value. */
    private static final String[] RESULTS = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError",
            "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress"};
    public static final int IN_PROGRESS = 7;

    private static volatile Object instance;

    final String where;
    private final MethodHandle getVersion, getUniqueId, commInitRank, allReduce, reduceScatter, allGather, broadcast,
            groupStart, groupEnd, commGetAsyncError, commAbort, commDestroy, getErrorString, getLastError;

    private Nccl(NativeLibraries.Loaded lib) {
        where = lib.where();
        getVersion = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "ncclGetVersion");
        getUniqueId = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "ncclGetUniqueId");
        commInitRank = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT), false, "ncclCommInitRank");
        // (send, recv, count, datatype, op, comm, stream)
        allReduce = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), false, "ncclAllReduce");
        // (send, recv, recvcount, datatype, op, comm, stream)
        reduceScatter = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), false, "ncclReduceScatter");
        // (send, recv, sendcount, datatype, comm, stream)
        allGather = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS), false, "ncclAllGather");
        // (send, recv, count, datatype, root, comm, stream)
        broadcast = lib.bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), false, "ncclBroadcast");
        groupStart = lib.bind(FunctionDescriptor.of(JAVA_INT), false, "ncclGroupStart");
        groupEnd = lib.bind(FunctionDescriptor.of(JAVA_INT), false, "ncclGroupEnd");
        commGetAsyncError = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "ncclCommGetAsyncError");
        commAbort = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "ncclCommAbort");
        commDestroy = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "ncclCommDestroy");
        getErrorString = lib.bind(FunctionDescriptor.of(ADDRESS, JAVA_INT), false, "ncclGetErrorString");
        getLastError = lib.bindOptional(FunctionDescriptor.of(ADDRESS, ADDRESS), false, "ncclGetLastError").orElse(null);
    }

    /** NCCL, loaded once; throws {@link CudaUnavailableException} with where it looked when it cannot be. */
    public static Nccl get() {
        Object n = instance;
        if (n == null) {
            synchronized (Nccl.class) {
                n = instance;
                if (n == null) {
                    try {
                        n = new Nccl(load(System.getenv()));
                    } catch (CudaException e) {
                        n = e;
                    } catch (RuntimeException | LinkageError e) {
                        n = new CudaUnavailableException("NCCL could not be loaded: " + e, e);
                    }
                    instance = n;
                }
            }
        }
        if (n instanceof CudaException e) throw new CudaUnavailableException(e.getMessage(), e);
        return (Nccl) n;
    }

    /** Where this binding was loaded from. */
    public String where() {
        return where;
    }

    // ---- finding the library --------------------------------------------------------------

    static final List<String> NAMES = List.of("libnccl.so.2", "libnccl.so");

    /** A binding loaded afresh as {@link #get()} would with this environment (for tests; {@link #get()} loads once). */
    static Nccl loadWith(Map<String, String> env) {
        return new Nccl(load(env));
    }

    private static NativeLibraries.Loaded load(Map<String, String> env) {
        return load(explicitFiles(env), NAMES, searchFolders(env));
    }

    /** The first of {@code explicit} that loads, else the first of {@code names} on the loader's path, else in {@code folders}. */
    static NativeLibraries.Loaded load(List<Path> explicit, List<String> names, List<Path> folders) {
        List<String> tried = new ArrayList<>();
        for (Path p : explicit) {
            if (!Files.isRegularFile(p)) {
                tried.add(p + " (no such file)");
                continue;
            }
            try {
                return new NativeLibraries.Loaded(SymbolLookup.libraryLookup(p, Arena.global()), p.toString());
            } catch (IllegalArgumentException e) {
                tried.add(p + " (" + e.getMessage() + ")");
            }
        }
        for (String name : names) {
            try {
                return new NativeLibraries.Loaded(SymbolLookup.libraryLookup(name, Arena.global()), name);
            } catch (IllegalArgumentException e) {
                tried.add(name);
            }
        }
        for (Path dir : folders) {
            for (String name : names) {
                Path p = dir.resolve(name);
                if (!Files.isRegularFile(p)) continue;
                try {
                    return new NativeLibraries.Loaded(SymbolLookup.libraryLookup(p, Arena.global()), p.toString());
                } catch (IllegalArgumentException e) {
                    tried.add(p + " (" + e.getMessage() + ")");
                }
            }
        }
        throw new CudaUnavailableException("NCCL not found: tried " + String.join(", ", tried) + " and " + folders.size()
                + " folders (LD_LIBRARY_PATH, CUDA, pip's nvidia/nccl/lib); set CCE4J_NCCL to libnccl.so.2 or its folder");
    }

    /** {@code $CCE4J_NCCL} as a file, or as a folder holding one of {@link #NAMES}. */
    static List<Path> explicitFiles(Map<String, String> env) {
        String v = env.get("CCE4J_NCCL");
        if (v == null || v.isBlank()) return List.of();
        Path p = Path.of(v.trim());
        if (Files.isDirectory(p)) {
            List<Path> out = new ArrayList<>();
            for (String name : NAMES) out.add(p.resolve(name));
            return out;
        }
        return List.of(p);
    }

    /** The folders of LD_LIBRARY_PATH, then the CUDA and pip folders every NVIDIA library is looked for in. */
    static List<Path> searchFolders(Map<String, String> env) {
        Set<Path> out = new LinkedHashSet<>();
        String ld = env.get("LD_LIBRARY_PATH");
        if (ld != null) for (String s : ld.split(":")) if (!s.isBlank()) out.add(Path.of(s));
        out.addAll(NativeLibraries.searchFolders());
        List<Path> existing = new ArrayList<>();
        for (Path p : out) if (Files.isDirectory(p)) existing.add(p);
        return existing;
    }

    // ---- errors ---------------------------------------------------------------------------

    /** "ncclInvalidArgument": the enum name of a result. */
    public static String resultName(int result) {
        return result >= 0 && result < RESULTS.length ? RESULTS[result] : "ncclResult " + result;
    }

    /** NCCL's description of a result (ncclGetErrorString). */
    public String describe(int result) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(result);
            return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "";
        }
    }

    /** The last error NCCL recorded (ncclGetLastError; the communicator may be NULL), or "". */
    public String lastError(MemorySegment comm) {
        if (getLastError == null) return "";
        try {
            MemorySegment s = (MemorySegment) getLastError.invokeExact(comm);
            return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(4096).getString(0).strip();
        } catch (Throwable t) {
            return "";
        }
    }

    /** "ncclInvalidArgument (4): invalid argument ... [last: ...]": a failed result in one line. */
    public String explain(int result, MemorySegment comm) {
        String d = describe(result);
        String last = lastError(comm);
        return resultName(result) + " (" + result + ")" + (d.isEmpty() ? "" : ": " + d)
                + (last.isEmpty() ? "" : " [" + last.replace('\n', ' ') + "]");
    }

    private void check(int result, String call, MemorySegment comm) {
        if (result != 0) throw new CudaException(call + " failed: " + explain(result, comm));
    }

    // ---- calls ----------------------------------------------------------------------------

    /** NCCL's version code (major·10000 + minor·100 + patch for 2.9 and later). */
    public int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) getVersion.invokeExact(v), "ncclGetVersion", MemorySegment.NULL);
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /** "2.21.5" from {@link #version()}. */
    public static String versionText(int code) {
        return code >= 10000 ? code / 10000 + "." + code / 100 % 100 + "." + code % 100 : code / 1000 + "." + code / 100 % 10 + "." + code % 100;
    }

    /** A new unique id (rank 0 makes it; every rank passes it to {@link #commInitRank}). */
    public byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            check((int) getUniqueId.invokeExact(id), "ncclGetUniqueId", MemorySegment.NULL);
            return id.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /** ncclCommInitRank on the calling thread's current device (blocks until all {@code size} ranks have called it). */
    public MemorySegment commInitRank(int size, byte[] uniqueId, int rank) {
        if (uniqueId.length != UNIQUE_ID_BYTES) throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, got " + uniqueId.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            MemorySegment.copy(uniqueId, 0, id, JAVA_BYTE, 0, UNIQUE_ID_BYTES);
            MemorySegment comm = a.allocate(ADDRESS);
            check((int) commInitRank.invokeExact(comm, size, id, rank), "ncclCommInitRank(rank " + rank + " of " + size + ")", MemorySegment.NULL);
            return comm.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /** ncclDataType_t of a dtype; throws for the types NCCL does not move. */
    public static int dataType(DType t) {
        return switch (t) {
            case I8 -> 0;
            case U8, BOOL -> 1;
            case I32 -> 2;
            case U32 -> 3;
            case I64 -> 4;
            case U64 -> 5;
            case F16 -> 6;
            case F32 -> 7;
            case F64 -> 8;
            case BF16 -> 9;
            default -> throw new IllegalArgumentException("NCCL has no type for " + t.shortName());
        };
    }

    public void allReduceSum(long send, long recv, long count, DType type, MemorySegment comm, MemorySegment stream) {
        try {
            check((int) allReduce.invokeExact(send, recv, count, dataType(type), SUM, comm, stream), "ncclAllReduce(" + count + " " + type.shortName() + ")", comm);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    public void reduceScatterSum(long send, long recv, long recvCount, DType type, MemorySegment comm, MemorySegment stream) {
        try {
            check((int) reduceScatter.invokeExact(send, recv, recvCount, dataType(type), SUM, comm, stream),
                    "ncclReduceScatter(" + recvCount + " " + type.shortName() + " per rank)", comm);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    public void allGather(long send, long recv, long sendCount, DType type, MemorySegment comm, MemorySegment stream) {
        try {
            check((int) allGather.invokeExact(send, recv, sendCount, dataType(type), comm, stream),
                    "ncclAllGather(" + sendCount + " " + type.shortName() + " per rank)", comm);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    public void broadcast(long send, long recv, long count, DType type, int root, MemorySegment comm, MemorySegment stream) {
        try {
            check((int) broadcast.invokeExact(send, recv, count, dataType(type), root, comm, stream),
                    "ncclBroadcast(" + count + " " + type.shortName() + " from " + root + ")", comm);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    public void groupStart() {
        try {
            check((int) groupStart.invokeExact(), "ncclGroupStart", MemorySegment.NULL);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    public void groupEnd() {
        try {
            check((int) groupEnd.invokeExact(), "ncclGroupEnd", MemorySegment.NULL);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /** The communicator's asynchronous error (ncclSuccess, {@link #IN_PROGRESS}, or what failed in a kernel or a proxy). */
    public int asyncError(MemorySegment comm) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(JAVA_INT);
            check((int) commGetAsyncError.invokeExact(comm, r), "ncclCommGetAsyncError", comm);
            return r.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /** ncclCommAbort: stops the communicator's outstanding work and frees it; returns the result (never throws). */
    public int abort(MemorySegment comm) {
        try {
            return (int) commAbort.invokeExact(comm);
        } catch (Throwable t) {
            return -1;
        }
    }

    /** ncclCommDestroy: frees the communicator after its outstanding work. */
    public void destroy(MemorySegment comm) {
        try {
            check((int) commDestroy.invokeExact(comm), "ncclCommDestroy", MemorySegment.NULL);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

}
