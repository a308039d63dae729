package org.cce4j.core.cuda;

import org.cce4j.core.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The NCCL binding without a GPU: where the library is looked for, the one line a missing library
 * gives, and every bound call's arguments as a C stand-in with nccl.h's prototypes receives them
 * (compiled here with cc; skipped without a C compiler). The real library is exercised by the
 * GPU test {@code org.cce4j.core.device.NcclCommunicatorTest}.
 */
class NcclBindingTest {

    @Test
    void aMissingLibraryIsOneLineSayingWhereItLooked(@TempDir Path dir) {
        // names no machine has, so that this holds where NCCL is installed too
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> Nccl.load(List.of(dir.resolve("nowhere/libnccl.so.2")), List.of("libnccl-absent.so.2"), List.of(dir)));
        assertEquals("NCCL not found: tried " + dir.resolve("nowhere/libnccl.so.2") + " (no such file), libnccl-absent.so.2 and 1 folders"
                + " (LD_LIBRARY_PATH, CUDA, pip's nvidia/nccl/lib); set CCE4J_NCCL to libnccl.so.2 or its folder", e.getMessage());
    }

    @Test
    void theLibraryIsLookedForInCce4jNcclThenLdLibraryPathThenTheCudaAndPipFolders(@TempDir Path dir) throws IOException {
        Path file = Files.createFile(dir.resolve("custom-nccl.so"));
        assertEquals(List.of(file), Nccl.explicitFiles(Map.of("CCE4J_NCCL", file.toString())));
        assertEquals(List.of(dir.resolve("libnccl.so.2"), dir.resolve("libnccl.so")), Nccl.explicitFiles(Map.of("CCE4J_NCCL", dir.toString())));
        assertEquals(List.of(), Nccl.explicitFiles(Map.of()));
        List<Path> folders = Nccl.searchFolders(Map.of("LD_LIBRARY_PATH", dir + "::" + dir.resolve("missing")));
        assertEquals(dir, folders.getFirst(), "LD_LIBRARY_PATH's folders come first; missing ones are dropped");
        assertFalse(folders.contains(dir.resolve("missing")));
        assertTrue(folders.containsAll(NativeLibraries.searchFolders()), "then every folder the other NVIDIA libraries are looked for in");
    }

    @Test
    void resultsHaveTheirEnumNames() {
        assertEquals("ncclSuccess", Nccl.resultName(0));
        assertEquals("ncclInvalidArgument", Nccl.resultName(4));
        assertEquals("ncclRemoteError", Nccl.resultName(6));
        assertEquals("ncclInProgress", Nccl.resultName(7));
        assertEquals("ncclResult 42", Nccl.resultName(42));
        assertEquals("2.21.5", Nccl.versionText(22105));
        assertEquals(9, Nccl.dataType(DType.BF16));
        assertEquals(7, Nccl.dataType(DType.F32));
        assertThrows(IllegalArgumentException.class, () -> Nccl.dataType(DType.F8_E4M3));
    }

    @Test
    void everyCallPassesItsArgumentsAsNcclHDeclaresThem(@TempDir Path dir) throws Throwable {
        Path lib = compileStub(dir);
        Nccl n = Nccl.loadWith(Map.of("CCE4J_NCCL", lib.toString()));
        assertEquals(lib.toString(), n.where());
        assertEquals(22105, n.version());

        byte[] id = n.uniqueId();
        assertEquals(Nccl.UNIQUE_ID_BYTES, id.length);
        for (int i = 0; i < id.length; i++) assertEquals((byte) (i * 7 + 1), id[i]);
        // the id travels by value: the stub encodes its first and last byte, nranks and rank into the handle
        MemorySegment comm = n.commInitRank(3, id, 2);
        assertEquals(((long) (id[0] & 0xff) << 24) | ((long) (id[127] & 0xff) << 16) | (3 << 8) | 2, comm.address());
        assertThrows(IllegalArgumentException.class, () -> n.commInitRank(3, new byte[127], 2));

        MemorySegment stream = MemorySegment.ofAddress(0xabcdef);
        n.allReduceSum(0x1000, 0x2000, 77, DType.BF16, comm, stream);
        assertArrayEquals(new long[] {0x1000, 0x2000, 77, 9, 0, comm.address(), 0xabcdef, 1}, seen(lib));
        n.reduceScatterSum(0x1100, 0x2100, 5, DType.F32, comm, stream);
        assertArrayEquals(new long[] {0x1100, 0x2100, 5, 7, 0, comm.address(), 0xabcdef, 2}, seen(lib));
        n.allGather(0x1200, 0x2200, 6, DType.I64, comm, stream);
        assertArrayEquals(new long[] {0x1200, 0x2200, 6, 4, -1L & 0xffffffffL, comm.address(), 0xabcdef, 3}, masked(seen(lib)));
        n.broadcast(0x1300, 0x2300, 8, DType.F16, 1, comm, stream);
        assertArrayEquals(new long[] {0x1300, 0x2300, 8, 6, 1, comm.address(), 0xabcdef, 4}, seen(lib));
        n.groupStart();
        n.groupEnd();
        assertEquals(0, n.asyncError(comm));
        assertEquals(0, n.abort(comm));
        n.destroy(comm);

        // an error by name, with NCCL's description and its last-error detail
        CudaException e = assertThrows(CudaException.class, () -> n.allReduceSum(0x1000, 0x2000, 1, DType.F32, MemorySegment.NULL, stream));
        assertEquals("ncclAllReduce(1 f32) failed: ncclInvalidArgument (4): invalid argument (run with NCCL_DEBUG=WARN for details) [comm is NULL]",
                e.getMessage());
    }

    private static long[] masked(long[] v) {
        v[4] &= 0xffffffffL; // the stub widened an int of -1
        return v;
    }

    private static long[] seen(Path lib) throws Throwable {
        SymbolLookup l = SymbolLookup.libraryLookup(lib, Arena.global());
        MethodHandle h = Linker.nativeLinker().downcallHandle(l.find("stubSeen").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        MemorySegment s = ((MemorySegment) h.invokeExact()).reinterpret(64);
        return s.toArray(JAVA_LONG);
    }

    private static Path compileStub(Path dir) throws IOException, InterruptedException {
        Path src = dir.resolve("nccl_stub.c");
        try (InputStream in = NcclBindingTest.class.getResourceAsStream("nccl_stub.c")) {
            Files.copy(in, src);
        }
        Path lib = dir.resolve("libnccl.so.2");
        Process p;
        try {
            p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), src.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no C compiler (cc) to build the NCCL stand-in: " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cc failed: " + out);
        return lib;
    }
}
