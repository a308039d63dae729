package org.cce4j.core.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NVRTC, CUDA's run-time compiler ({@code libnvrtc.so.13}, else {@code .12}), through FFM: CUDA C++
 * source in, a cubin for one exact architecture out (sm_90a on an H100, so wgmma is available).
 * Headers are handed over by name and content, so kernels need nothing from the file system.
 * A failed compile throws with NVRTC's log.
 */
final class Nvrtc {
    private static volatile Object instance;

    private final MethodHandle createProgram, compileProgram, logSize, log, cubinSize, cubin, destroyProgram,
            errorString, version;
    final String where;

    private Nvrtc(NativeLibraries.Loaded lib) {
        where = lib.where();
        createProgram = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), false, "nvrtcCreateProgram");
        compileProgram = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), false, "nvrtcCompileProgram");
        logSize = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "nvrtcGetProgramLogSize");
        log = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "nvrtcGetProgramLog");
        cubinSize = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "nvrtcGetCUBINSize");
        cubin = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "nvrtcGetCUBIN");
        destroyProgram = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS), false, "nvrtcDestroyProgram");
        errorString = lib.bind(FunctionDescriptor.of(ADDRESS, JAVA_INT), false, "nvrtcGetErrorString");
        version = lib.bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false, "nvrtcVersion");
    }

    static Nvrtc get() {
        Object n = instance;
        if (n == null) {
            synchronized (Nvrtc.class) {
                n = instance;
                if (n == null) {
                    try {
                        n = new Nvrtc(NativeLibraries.load("NVRTC (libnvrtc.so.13 or .12, from the CUDA toolkit or the nvidia-cuda-nvrtc wheel)",
                                List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), List.of("libnvrtc-builtins.so")));
                    } catch (CudaException e) {
                        n = e;
                    }
                    instance = n;
                }
            }
        }
        if (n instanceof CudaException e) throw new CudaUnavailableException(e.getMessage(), e);
        return (Nvrtc) n;
    }

    private void check(int r, String call) {
        if (r != 0) throw new CudaException(call + " failed: " + name(r) + " (" + r + ")");
    }

    private String name(int r) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeExact(r);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "nvrtcResult " + r;
        }
    }

    /** "13.0" */
    String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ma = a.allocate(JAVA_INT), mi = a.allocate(JAVA_INT);
            check((int) version.invokeExact(ma, mi), "nvrtcVersion");
            return ma.get(JAVA_INT, 0) + "." + mi.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    /**
     * Compiles {@code source} to a cubin.
     * @param headers include name → content, for {@code #include "name"}
     */
    byte[] compile(String source, String name, Map<String, String> headers, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progPtr = a.allocate(ADDRESS);
            int nh = headers.size();
            MemorySegment hContents = a.allocate(ADDRESS, Math.max(nh, 1));
            MemorySegment hNames = a.allocate(ADDRESS, Math.max(nh, 1));
            int i = 0;
            for (Map.Entry<String, String> h : headers.entrySet()) {
                hNames.setAtIndex(ADDRESS, i, a.allocateFrom(h.getKey()));
                hContents.setAtIndex(ADDRESS, i, a.allocateFrom(h.getValue()));
                i++;
            }
            check((int) createProgram.invokeExact(progPtr, a.allocateFrom(source), a.allocateFrom(name), nh, hContents, hNames),
                    "nvrtcCreateProgram(" + name + ")");
            MemorySegment prog = progPtr.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, Math.max(options.size(), 1));
                for (int k = 0; k < options.size(); k++) opts.setAtIndex(ADDRESS, k, a.allocateFrom(options.get(k)));
                int r = (int) compileProgram.invokeExact(prog, options.size(), opts);
                if (r != 0) {
                    throw new CudaException("nvrtcCompileProgram(" + name + ", " + String.join(" ", options) + ") failed: "
                            + name(r) + "\n" + programLog(a, prog));
                }
                MemorySegment size = a.allocate(JAVA_LONG);
                check((int) cubinSize.invokeExact(prog, size), "nvrtcGetCUBINSize(" + name + ")");
                long n = size.get(JAVA_LONG, 0);
                MemorySegment buf = a.allocate(Math.max(n, 1));
                check((int) cubin.invokeExact(prog, buf), "nvrtcGetCUBIN(" + name + ")");
                return buf.asSlice(0, n).toArray(JAVA_BYTE);
            } finally {
                int ignored = (int) destroyProgram.invokeExact(progPtr);
            }
        } catch (Throwable t) {
            throw Driver.rethrow(t);
        }
    }

    private String programLog(Arena a, MemorySegment prog) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        if ((int) logSize.invokeExact(prog, size) != 0) return "(no log)";
        long n = size.get(JAVA_LONG, 0);
        MemorySegment buf = a.allocate(Math.max(n, 1));
        if ((int) log.invokeExact(prog, buf) != 0) return "(no log)";
        return buf.getString(0);
    }
}
